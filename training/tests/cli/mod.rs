//! Running the `instrunet` binary as a user does, for the command-line tests.

use std::process::{Command, Output};

/// Runs `instrunet` with `args`.
pub fn instrunet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_instrunet"))
        .args(args)
        .output()
        .expect("the instrunet binary runs")
}

/// What a run printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
