//! Keys from the raw bytes of a terminal. Under mpirun, rank 0's keyboard is a pipe that mpirun
//! fills from the terminal, so crossterm's reader (which reads the terminal itself) cannot be used;
//! with the terminal in raw mode the bytes arrive at once and are decoded here.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Tab,
    BackTab,
    Esc,
    CtrlC,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    /// A press of the left mouse button at a cell, counted from 0 at the top left.
    Click {
        column: u16,
        row: u16,
    },
}

/// Decodes what one read returned: a terminal sends a key's bytes together, so a lone ESC is
/// the Esc key and ESC followed by more is an escape sequence.
pub fn decode(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut rest = bytes;
    while let Some((&first, tail)) = rest.split_first() {
        let (key, used) = match first {
            0x1b if tail.is_empty() => (Some(Key::Esc), 1),
            0x1b => escape(tail),
            b'\r' | b'\n' => (Some(Key::Enter), 1),
            b'\t' => (Some(Key::Tab), 1),
            0x03 => (Some(Key::CtrlC), 1),
            _ => {
                // One UTF-8 character.
                let width = utf8_width(first).min(rest.len());
                (std::str::from_utf8(&rest[..width]).ok().and_then(|s| s.chars().next()).map(Key::Char), width)
            }
        };
        keys.extend(key);
        rest = &rest[used.max(1)..];
    }
    keys
}

/// Whether `bytes` end in the start of an escape sequence whose rest may still be on its way (a
/// read can cut a key's bytes apart): then it is worth waiting a moment before decoding.
pub fn incomplete(bytes: &[u8]) -> bool {
    let Some(at) = bytes.iter().rposition(|&b| b == 0x1b) else { return false };
    match &bytes[at + 1..] {
        [] => true,
        [b'[' | b'O', rest @ ..] => !rest.iter().any(|b| (0x40..=0x7e).contains(b)),
        _ => false,
    }
}

/// An escape sequence after ESC: the key and the bytes used, ESC included.
fn escape(tail: &[u8]) -> (Option<Key>, usize) {
    let (kind, body) = match tail.split_first() {
        Some((&b'[', body)) => ('[', body),
        Some((&b'O', body)) => ('O', body),
        // ESC then another key: Esc, and the key is read next.
        _ => return (Some(Key::Esc), 1),
    };
    // Parameters, then a final byte in 0x40..=0x7e.
    let Some(end) = body.iter().position(|b| (0x40..=0x7e).contains(b)) else { return (None, 2 + body.len()) };
    let (params, last) = (&body[..end], body[end]);
    let key = match (kind, last, params) {
        (_, b'A', _) => Some(Key::Up),
        (_, b'B', _) => Some(Key::Down),
        (_, b'C', _) => Some(Key::Right),
        (_, b'D', _) => Some(Key::Left),
        (_, b'H', _) | ('[', b'~', b"1" | b"7") => Some(Key::Home),
        (_, b'F', _) | ('[', b'~', b"4" | b"8") => Some(Key::End),
        ('[', b'~', b"5") => Some(Key::PageUp),
        ('[', b'~', b"6") => Some(Key::PageDown),
        ('[', b'Z', _) => Some(Key::BackTab),
        ('[', b'M', [b'<', mouse @ ..]) => mouse_key(mouse),
        _ => None,
    };
    (key, 2 + end + 1)
}

/// A mouse report in the SGR encoding (`button;column;row`, from 1): a left press is a click,
/// the wheel moves the selection; releases (final `m`) and other buttons are ignored.
fn mouse_key(params: &[u8]) -> Option<Key> {
    let text = std::str::from_utf8(params).ok()?;
    let mut numbers = text.split(';').map(|n| n.parse::<u16>().ok());
    let (button, column, row) = (numbers.next()??, numbers.next()??, numbers.next()??);
    match button {
        0 => Some(Key::Click { column: column.saturating_sub(1), row: row.saturating_sub(1) }),
        64 => Some(Key::Up),
        65 => Some(Key::Down),
        _ => None,
    }
}

fn utf8_width(first: u8) -> usize {
    match first {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_and_control_keys() {
        assert_eq!(decode(b"q? j"), [Key::Char('q'), Key::Char('?'), Key::Char(' '), Key::Char('j')]);
        assert_eq!(decode(b"\t\r\x03"), [Key::Tab, Key::Enter, Key::CtrlC]);
        assert_eq!(decode("é".as_bytes()), [Key::Char('é')]);
    }

    #[test]
    fn a_sequence_cut_by_a_read_is_seen_as_incomplete() {
        assert!(incomplete(b"\x1b"));
        assert!(incomplete(b"q\x1b["));
        assert!(incomplete(b"\x1b[1;5"));
        assert!(!incomplete(b"\x1b[A"));
        assert!(!incomplete(b"q"));
        assert!(!incomplete(b"\x1bq"));
    }

    #[test]
    fn escape_sequences_and_a_lone_escape() {
        assert_eq!(decode(b"\x1b"), [Key::Esc]);
        assert_eq!(decode(b"\x1b[A\x1b[B\x1b[C\x1b[D"), [Key::Up, Key::Down, Key::Right, Key::Left]);
        assert_eq!(decode(b"\x1bOA\x1bOD"), [Key::Up, Key::Left]);
        assert_eq!(decode(b"\x1b[5~\x1b[6~\x1b[Z"), [Key::PageUp, Key::PageDown, Key::BackTab]);
        assert_eq!(decode(b"\x1b[H\x1b[F\x1b[1~\x1b[4~"), [Key::Home, Key::End, Key::Home, Key::End]);
        assert_eq!(decode(b"\x1b[1;5A"), [Key::Up], "modifiers are ignored");
        assert_eq!(decode(b"\x1b[99x"), [], "unknown sequences are skipped");
        assert_eq!(decode(b"\x1bq"), [Key::Esc, Key::Char('q')]);
    }

    #[test]
    fn mouse_presses_are_clicks_and_the_wheel_moves() {
        assert_eq!(decode(b"\x1b[<0;12;5M"), [Key::Click { column: 11, row: 4 }]);
        assert_eq!(decode(b"\x1b[<0;12;5m"), [], "a release");
        assert_eq!(decode(b"\x1b[<2;1;1M"), [], "the right button");
        assert_eq!(decode(b"\x1b[<64;3;3M\x1b[<65;3;3Mq"), [Key::Up, Key::Down, Key::Char('q')]);
        assert_eq!(decode(b"\x1b[<0;;5M"), [], "garbled");
        assert!(incomplete(b"\x1b[<0;12"), "a report cut by a read");
    }
}
