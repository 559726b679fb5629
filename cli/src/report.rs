//! How a failed command is told to the user: one line per distinct cause,
//! gRPC statuses by code and message with their `BadRequest` field
//! violations, never a backtrace (the chain is printed with `Display`, so
//! `RUST_BACKTRACE` changes nothing).

use std::fmt::Write as _;
use std::io::IsTerminal;

use tonic::Status;
use tonic_types::StatusExt;

/// Whether stderr may carry ANSI styling: a terminal, and `NO_COLOR` unset.
pub fn stderr_styled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `InvalidArgument` → `INVALID_ARGUMENT`, the spelling gRPC docs use.
fn code_name(status: &Status) -> String {
    let mut out = String::new();
    for (i, c) in format!("{:?}", status.code()).chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The lines describing one gRPC status: code and message, then each field
/// violation of a `google.rpc.BadRequest` detail.
pub fn status_lines(status: &Status) -> Vec<String> {
    let mut lines = vec![format!("{}: {}", code_name(status), status.message())];
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            lines.push(format!("  {}: {}", v.field, v.description));
        }
    }
    lines
}

/// The whole error as text, ending in a newline. Causes whose text a
/// previous line already shows (a transport error repeating its source's
/// message) are left out.
pub fn render(error: &anyhow::Error, styled: bool) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = match cause.downcast_ref::<Status>() {
            Some(status) => {
                let mut status_lines = status_lines(status);
                violations.extend(status_lines.drain(1..));
                status_lines.remove(0)
            }
            None => cause.to_string(),
        };
        let text = text.trim().to_string();
        if text.is_empty() || lines.iter().any(|l| l.contains(&text)) {
            continue;
        }
        lines.push(text);
    }
    let (bold, reset) = if styled {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "{bold}error:{reset} {line}");
        } else {
            let _ = writeln!(out, "  caused by: {line}");
        }
    }
    for v in violations {
        let _ = writeln!(out, "{v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use tonic_types::ErrorDetails;

    #[test]
    fn status_shows_code_message_and_violations() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("filter.sectors[0]", "\"energyy\" is not a sector");
        let status = Status::with_error_details(tonic::Code::InvalidArgument, "invalid filter", details);
        let error = anyhow::Error::new(status).context("ListArticles");
        let text = render(&error, false);
        assert_eq!(
            text,
            "error: ListArticles\n  caused by: INVALID_ARGUMENT: invalid filter\n  \
             filter.sectors[0]: \"energyy\" is not a sector\n"
        );
    }

    /// A transport error that repeats its source's text, as hyper's do.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "tcp connect error: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn repeated_causes_are_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = Err::<(), _>(Wrapper(io))
            .context("cannot reach http://127.0.0.1:1")
            .context("stats")
            .unwrap_err();
        let text = render(&error, false);
        assert_eq!(
            text,
            "error: stats\n  caused by: cannot reach http://127.0.0.1:1\n  \
             caused by: tcp connect error: connection refused\n"
        );
        assert!(!render(&error, false).contains('\x1b'));
    }
}
