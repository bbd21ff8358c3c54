//! `mgmtctl generate`: completion scripts name every command, and one man page is written per
//! command, all from the clap definition.

use std::process::Command;

fn mgmtctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mgmtctl"))
        .args(args)
        .output()
        .expect("run mgmtctl")
}

const COMMANDS: &[&str] = &[
    "decode", "info", "power", "set", "monitor", "bonds", "agent", "pair", "unpair", "generate",
];

#[test]
fn completions_for_each_shell_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = mgmtctl(&["generate", "completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completion lacks {c}");
        }
        assert!(script.contains("answer-timeout"), "{shell}: agent options");
    }
}

#[test]
fn man_pages_one_per_command() {
    let t = tempfile::tempdir().unwrap();
    let out = mgmtctl(&["generate", "man", "--dir", t.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let main = std::fs::read_to_string(t.path().join("mgmtctl.1")).unwrap();
    assert!(
        main.starts_with(".ie") || main.contains(".TH mgmtctl"),
        "{main}"
    );
    for c in COMMANDS {
        let page = std::fs::read_to_string(t.path().join(format!("mgmtctl-{c}.1")))
            .unwrap_or_else(|e| panic!("mgmtctl-{c}.1: {e}"));
        assert!(page.contains(".TH"), "{c}");
    }
    let agent = std::fs::read_to_string(t.path().join("mgmtctl-agent.1")).unwrap();
    assert!(
        agent.contains("coexist") && agent.contains("passkey"),
        "agent page lists its options"
    );
}
