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

/// Each subcommand's arguments are defined only when it runs (`defer` in main.rs), after its
/// summary: a doc comment on its arguments' struct (or on a struct flattened into it) would
/// then replace the summary. Every subcommand's own `--help` and man page must open with the
/// line `mgmtctl --help` lists for it.
#[test]
fn every_subcommand_keeps_its_summary() {
    let top = String::from_utf8(mgmtctl(&["--help"]).stdout).unwrap();
    let listed: Vec<(String, String)> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (name, summary) = l.trim().split_once(' ')?;
            Some((name.to_string(), summary.trim().to_string()))
        })
        .filter(|(name, _)| name != "help")
        .collect();
    assert!(listed.len() >= COMMANDS.len(), "{top}");
    let t = tempfile::tempdir().unwrap();
    assert!(
        mgmtctl(&["generate", "man", "--dir", t.path().to_str().unwrap()])
            .status
            .success()
    );
    for (name, summary) in &listed {
        let help = String::from_utf8(mgmtctl(&[name, "--help"]).stdout).unwrap();
        assert_eq!(
            help.lines().next(),
            Some(summary.as_str()),
            "mgmtctl {name} --help"
        );
        let page = std::fs::read_to_string(t.path().join(format!("mgmtctl-{name}.1"))).unwrap();
        let roff = summary.replace('-', "\\-").replace('\'', "\\*(Aq");
        assert!(page.contains(&roff), "mgmtctl-{name}.1 lacks {summary:?}");
    }
}
