//! The text of an error answer: the `message` (or `error`) field of a JSON
//! body, as GitLab, Gitea's API and the Docker Engine send it, else the
//! start of the body. One line, bounded in length.

/// At most this many characters of a server's text are shown.
pub const MAX_SHOWN: usize = 200;

pub fn error_text(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = parsed.as_ref().and_then(|v| {
        v.get("message")
            .or_else(|| v.get("error"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
    });
    let text = field.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    one_line(&text)
}

/// Line breaks become spaces, the text is cut at `MAX_SHOWN` characters,
/// and whatever a terminal would act on (ESC, BEL, bidi controls, ...) is
/// shown escaped, so that a server's answer fits an `error:` line and
/// cannot forge or hide anything in it.
fn one_line(text: &str) -> String {
    let cut: String = text
        .trim()
        .chars()
        .take(MAX_SHOWN)
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = imglife_domain::text::escape(&cut).into_owned();
    if text.trim().chars().nth(MAX_SHOWN).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_message_or_error_else_the_start_of_the_body() {
        assert_eq!(
            error_text(br#"{"message":"401 Unauthorized"}"#),
            "401 Unauthorized"
        );
        assert_eq!(
            error_text(br#"{"error":"package_version is invalid"}"#),
            "package_version is invalid"
        );
        assert_eq!(
            error_text(br#"{"message":{"name":["is invalid"]}}"#),
            r#"{"name":["is invalid"]}"#
        );
        assert_eq!(error_text(b"plain\ntext\r\n"), "plain text");
        assert_eq!(
            error_text(b"{\"message\":\"bad \\u001b[2J\\u202e\"}"),
            "bad \\u{1b}[2J\\u{202e}"
        );
        let long = "x".repeat(500);
        assert_eq!(error_text(long.as_bytes()).chars().count(), MAX_SHOWN + 1);
    }
}
