//! Health checks of the VM itself: the guest kernel, and BlueZ's own MGMT test suite
//! (`mgmt-tester`) as a cross-check that the kernel's MGMT implementation is sound here.

use std::process::Command;

use super::support::{kernel_release, tool};

/// mgmt-tester 5.66 on kernel 6.1 passes about 447 of 494; the failures are expectations that
/// changed between BlueZ and kernel versions. Far below that means the VM is broken (missing
/// crypto modules, for instance, fail most of the suite).
const MGMT_TESTER_FLOOR: u32 = 400;

#[test]
fn guest_kernel_has_bluetooth() {
    println!("guest uname -r: {}", kernel_release());
    assert!(
        std::path::Path::new("/dev/vhci").exists(),
        "no /dev/vhci: hci_vhci is not loaded"
    );
}

/// Parses mgmt-tester's summary line, e.g. "Total: 494, Passed: 447 (90.5%), Failed: 35,
/// Not Run: 12", into (total, passed).
fn summary(output: &str) -> Option<(String, u32, u32)> {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with("Total:"))?;
    let number_after = |key: &str| -> Option<u32> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    Some((
        line.trim().to_owned(),
        number_after("Total:")?,
        number_after("Passed:")?,
    ))
}

/// Removes the ANSI colour sequences (ESC [ ... m) mgmt-tester puts around its counts.
fn strip_colours(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn mgmt_tester_passes_most_of_its_suite() {
    let started = std::time::Instant::now();
    // Bounded, so a hanging tester fails this test instead of eating the VM's whole budget.
    let out = Command::new("timeout")
        .arg("600")
        .arg(tool("mgmt-tester"))
        .output()
        .expect("run mgmt-tester");
    let text = strip_colours(&String::from_utf8_lossy(&out.stdout));
    let (line, total, passed) = summary(&text).unwrap_or_else(|| {
        panic!(
            "no summary from mgmt-tester; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    println!("mgmt-tester: {line} ({} s)", started.elapsed().as_secs());
    assert!(total > 0);
    assert!(
        passed >= MGMT_TESTER_FLOOR,
        "mgmt-tester passed only {passed} of {total} (floor {MGMT_TESTER_FLOOR})"
    );
}

#[test]
fn summary_parses_the_tester_line() {
    let (_, total, passed) =
        summary("x\nTotal: 494, Passed: 447 (90.5%), Failed: 35, Not Run: 12\n").unwrap();
    assert_eq!((total, passed), (494, 447));
    let coloured = "Total: 494, \u{1b}[0;32mPassed: 450 (91.1%)\u{1b}[0m, Failed: 37";
    assert_eq!(
        strip_colours(coloured),
        "Total: 494, Passed: 450 (91.1%), Failed: 37"
    );
}
