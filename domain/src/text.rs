//! Text that came from outside (a server's message, a file name, a header,
//! an echoed flag) made safe to print on a terminal or in a log line.
//!
//! A terminal obeys what it is sent: an ESC sequence can recolour, move the
//! cursor or retitle the window, a BEL rings, a carriage return or a
//! U+2028 starts a new "line" that forges output, and bidi controls
//! (U+202E) or zero-width characters make text read differently from what
//! it is. Each such character is shown escaped, as Rust writes it
//! (`\u{1b}`, `\u{202e}`), so the reader sees it and the terminal does not
//! act on it. Ordinary text, accents and emoji included, passes unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() // C0 (ESC, BEL, CR, LF, VT, ...), DEL, C1
        || matches!(
            c,
            '\u{061c}'               // Arabic letter mark
            | '\u{200b}'..='\u{200f}' // zero-width space/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}'              // zero-width no-break space (BOM)
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_bidi_and_invisible_characters_are_shown_escaped() {
        assert_eq!(
            escape("a\u{1b}[31mred\u{7}\u{b}b"),
            "a\\u{1b}[31mred\\u{7}\\u{b}b"
        );
        assert_eq!(
            escape("x\u{202e}y\u{2028}z\u{200b}"),
            "x\\u{202e}y\\u{2028}z\\u{200b}"
        );
        assert_eq!(escape("line\nnext\r"), "line\\u{a}next\\u{d}");
        assert_eq!(escape("\u{9b}2J"), "\\u{9b}2J");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "registry.example.com/bases/alpine:3.21 — café ✓ 🚀";
        assert!(matches!(escape(text), Cow::Borrowed(_)));
    }
}
