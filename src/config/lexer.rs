//! Lexical layer of keepalived.conf (keepalived's `lib/parser.c`): the line primitives the
//! `preprocess` stage is built from, and the script-string tokeniser.
//!
//! * `decomment`: keepalived's `decomment()`. A `!` or `#` outside double quotes starts a
//!   comment; `\#` and `\!` outside quotes give the literal character; leading and trailing
//!   blanks go; a trailing `\` is kept (it only means something in a `$NAME=` definition).
//! * `tokenize`: keepalived's `alloc_strvec_r()`. Words split on `" \t\f\n\r\v"`; a word that
//!   starts with `"` runs to the next `"` (quotes removed, no escapes); a bare word also ends at
//!   a `"`. Single quotes are ordinary characters.
//! * [`split_script_argv`]: keepalived's `alloc_strvec_quoted_escaped()`, used by the semantic
//!   pass for `script`, `notify*` and similar keywords.
//!
//! Lines are handled as sequences of `PChar`: a character plus the column it came from, so
//! that comment removal, `@` prefixes, macro substitution and `{`/`}` splitting keep exact
//! columns. Text produced by a macro carries the column of the `$` that referenced it.

use super::ast::{FileId, Span, Word};
use std::fmt;
use std::sync::Arc;

/// keepalived's `MAXBUF`: a line holds at most `MAXBUF - 1` bytes, also after substitution.
pub const MAXBUF: usize = 1024;

/// Looks up an environment variable for `${_ENV VAR}`.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Options for loading a configuration.
///
/// Build it with struct update syntax (`LoadOptions { config_id: .., ..Default::default() }`):
/// fields may be added.
#[derive(Clone)]
pub struct LoadOptions {
    /// keepalived's config-id (`-i`): `@ID` lines are kept when ID equals it, and it is the
    /// value of `${_INSTANCE}`. The caller supplies keepalived's default (the node name up to
    /// the first `.`). `None` behaves like keepalived with no config id: `@ID` never matches,
    /// `@^ID` always does, and `${_INSTANCE}` is empty.
    pub config_id: Option<String>,
    /// `-e/--all-config`: every include check on (as if every `include` were `includea`).
    pub all_config_checks: bool,
    /// Seed for `${_RANDOM}` (keepalived's `random_seed`, or the time, chosen by the caller).
    pub random_seed: u64,
    /// Environment for `${_ENV VAR}`; `None` means an empty environment. The daemon passes
    /// `Some(Arc::new(|k| std::env::var(k).ok()))`.
    pub env: Option<EnvLookup>,
    /// Bound on the lines produced by `~SEQ`, `~LST` and multiline definitions together.
    pub max_generated_lines: usize,
    /// Bound on nested includes.
    pub max_include_depth: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            config_id: None,
            all_config_checks: false,
            random_seed: 0,
            env: None,
            max_generated_lines: 1_000_000,
            max_include_depth: 32,
        }
    }
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("config_id", &self.config_id)
            .field("all_config_checks", &self.all_config_checks)
            .field("random_seed", &self.random_seed)
            .field("env", &self.env.as_ref().map(|_| "<fn>"))
            .field("max_generated_lines", &self.max_generated_lines)
            .field("max_include_depth", &self.max_include_depth)
            .finish()
    }
}

/// A character of a line with the column it came from (1-based, in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PChar {
    pub c: char,
    pub col: u32,
}

/// A logical line being preprocessed: its characters and where it came from.
#[derive(Clone, Debug, Default)]
pub(crate) struct PLine {
    pub file: FileId,
    pub line: u32,
    pub chars: Vec<PChar>,
    /// An unterminated quote was already reported for this line.
    pub quote_reported: bool,
    /// `$` substitutions left for this line and the text split off it (0: exhausted and
    /// reported). keepalived loops forever on `$A=$B` / `$B=$A`.
    pub budget: u32,
}

/// Substitutions allowed for one line (with the lines split off it at braces).
pub(crate) const SUBSTITUTION_BUDGET: u32 = 2000;

impl PLine {
    pub fn from_str(file: FileId, line: u32, text: &str) -> PLine {
        let chars = text
            .chars()
            .zip(1u32..)
            .map(|(c, col)| PChar { c, col })
            .collect();
        PLine {
            file,
            line,
            chars,
            quote_reported: false,
            budget: SUBSTITUTION_BUDGET,
        }
    }

    pub fn text(&self) -> String {
        self.chars.iter().map(|p| p.c).collect()
    }

    /// Span of the first character (column 1 of the line when it is empty).
    pub fn span(&self) -> Span {
        self.span_at(0)
    }

    pub fn span_at(&self, i: usize) -> Span {
        let col = self.chars.get(i).or(self.chars.last()).map_or(1, |p| p.col);
        Span {
            file: self.file,
            line: self.line,
            col,
        }
    }

    pub fn starts_with(&self, s: &str) -> bool {
        let mut it = self.chars.iter();
        s.chars().all(|c| it.next().is_some_and(|p| p.c == c))
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// A copy holding `chars` with this line's origin.
    pub fn with_chars(&self, chars: Vec<PChar>) -> PLine {
        PLine {
            file: self.file,
            line: self.line,
            chars,
            quote_reported: self.quote_reported,
            budget: self.budget,
        }
    }
}

/// keepalived's `WHITE_SPACE`.
pub(crate) fn is_white(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c' | '\n' | '\r' | '\x0b')
}

/// `isblank()`.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_trailing_blanks(v: &mut Vec<PChar>) {
    while v.last().is_some_and(|p| is_blank(p.c)) {
        v.pop();
    }
}

pub(crate) fn skip_blanks(v: &[PChar], mut i: usize) -> usize {
    while i < v.len() && is_blank(v[i].c) {
        i += 1;
    }
    i
}

/// Result of [`decomment`].
pub(crate) struct Decommented {
    pub chars: Vec<PChar>,
    /// The line ended inside double quotes (keepalived: "Unterminated quote").
    pub unterminated_quote: bool,
    /// The text keepalived quotes in its message.
    pub quoted_text: String,
    /// Column of the quote left open.
    pub quote_col: u32,
}

/// keepalived's `decomment()`: removes comments, the escaping of comment characters, and
/// leading and trailing blanks, including blanks before a terminating `\`.
pub(crate) fn decomment(line: &[PChar]) -> Decommented {
    let start = skip_blanks(line, 0);
    let mut v = line[start..].to_vec();
    let mut quote = false;
    let mut cont: Option<PChar> = None;
    let mut skip: Option<usize> = None;
    let mut quote_col = 0;
    let mut i = 0;
    while i < v.len() {
        match v[i].c {
            '"' => {
                if skip.is_none() {
                    quote = !quote;
                    quote_col = v[i].col;
                }
                i += 1;
            }
            '\\' => {
                if i + 1 < v.len() {
                    if !quote && matches!(v[i + 1].c, '#' | '!') {
                        v.remove(i);
                        i += 1;
                    } else {
                        i += 2;
                    }
                } else {
                    cont = Some(v[i]);
                    v.truncate(i);
                    break;
                }
            }
            '!' | '#' => {
                if !quote && skip.is_none() {
                    skip = Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let quoted_text = if quote {
        v.iter().map(|p| p.c).collect()
    } else {
        String::new()
    };
    if let Some(k) = skip {
        v.truncate(k);
    }
    trim_trailing_blanks(&mut v);
    if let Some(bs) = cont {
        v.push(bs);
    }
    Decommented {
        chars: v,
        unterminated_quote: quote,
        quoted_text,
        quote_col,
    }
}

/// Splits off the first unquoted `{` or `}` of a line, as keepalived's `read_line` does: a
/// line starting with a brace becomes that brace alone, otherwise the text before the first
/// unquoted brace. Returns the rest (starting at the brace, or after the leading brace and
/// its blanks), if any. Trailing blanks are removed from both parts.
pub(crate) fn split_brace(buf: &mut Vec<PChar>) -> Option<Vec<PChar>> {
    let mut residue = None;
    if let Some(first) = buf.first() {
        let at = if first.c == '{' || first.c == '}' {
            Some((0, skip_blanks(buf, 1)))
        } else {
            find_unquoted_brace(buf).map(|p| (p, p))
        };
        if let Some((_, rest)) = at.filter(|&(_, rest)| rest < buf.len()) {
            let mut r = buf[rest..].to_vec();
            trim_trailing_blanks(&mut r);
            residue = Some(r);
        }
        if let Some((p, _)) = at {
            buf.truncate(if p == 0 { 1 } else { p });
        }
    }
    trim_trailing_blanks(buf);
    residue.filter(|r| !r.is_empty())
}

fn find_unquoted_brace(buf: &[PChar]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i].c {
            '{' | '}' => return Some(i),
            '"' => {
                let close = buf[i + 1..].iter().position(|p| p.c == '"')?;
                i += close + 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// keepalived's `alloc_strvec_r`. Returns the words, and whether a quoted word had no closing
/// quote (keepalived then drops that word and the rest of the line: "Unmatched quote").
pub(crate) fn tokenize(line: &PLine) -> (Vec<Word>, bool) {
    let seg = &line.chars;
    let mut words = Vec::new();
    let mut i = 0;
    while i < seg.len() {
        if is_white(seg[i].c) {
            i += 1;
            continue;
        }
        let span = line.span_at(i);
        if seg[i].c == '"' {
            let Some(len) = seg[i + 1..].iter().position(|p| p.c == '"') else {
                return (words, true);
            };
            let text = seg[i + 1..i + 1 + len].iter().map(|p| p.c).collect();
            words.push(Word {
                text,
                span,
                quoted: true,
            });
            i += len + 2;
        } else {
            let start = i;
            while i < seg.len() && !is_white(seg[i].c) && seg[i].c != '"' {
                i += 1;
            }
            let text = seg[start..i].iter().map(|p| p.c).collect();
            words.push(Word {
                text,
                span,
                quoted: false,
            });
        }
    }
    (words, false)
}

/// `strtol(s, &end, 0)`: leading white space, optional sign, `0x` hex, `0` octal, decimal.
/// Returns the value (saturated like strtol) and the index just after the number; the index
/// is 0 when there is no number.
pub(crate) fn strtol0(s: &[char]) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && is_white(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        i += 1;
    }
    let mut radix = 10;
    if i < s.len() && s[i] == '0' {
        if s.get(i + 1).is_some_and(|c| *c == 'x' || *c == 'X')
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            radix = 16;
            i += 2;
        } else {
            radix = 8;
        }
    }
    let digits_start = i;
    let mut val: i128 = 0;
    while let Some(d) = s.get(i).and_then(|c| c.to_digit(radix)) {
        val = (val * radix as i128 + d as i128).min(i64::MAX as i128 + 1);
        i += 1;
    }
    if i == digits_start {
        return (0, 0);
    }
    let v = if neg { -val } else { val };
    (v.clamp(i64::MIN as i128, i64::MAX as i128) as i64, i)
}

/// keepalived's `alloc_strvec_quoted_escaped`: splits a script string into an argv.
/// `"…"` and `'…'` group words (the quotes are removed and may sit next to other text, which
/// concatenates). Backslash escapes work everywhere, inside either kind of quote too:
/// `\a \b \E \f \n \r \t \v`, `\nnn` (octal, up to 3 digits), `\xHH` (hex digits),
/// `\cC` (control character); any other `\C` gives `C`. keepalived builds bytes: a value
/// of 0x80 to 0xff from `\x` or octal becomes the character U+0080 to U+00FF here.
///
/// Errors, with keepalived's wording: "String '…': missing terminating \"" and
/// "Missing escape char at end: '…'".
pub fn split_script_argv(s: &str) -> Result<Vec<String>, String> {
    let src: Vec<char> = s.chars().collect();
    let mut argv = Vec::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    loop {
        while i < src.len() && is_white(src[i]) {
            i += 1;
        }
        if i >= src.len() {
            break;
        }
        let mut word = String::new();
        while i < src.len() {
            let c = src[i];
            let special = match quote {
                Some(q) => c == q || c == '\\',
                None => is_white(c) || c == '\'' || c == '"' || c == '\\',
            };
            if !special {
                word.push(c);
                i += 1;
                continue;
            }
            if c == '\\' {
                i += 1;
                if i >= src.len() {
                    return Err(format!("Missing escape char at end: '{}'", s));
                }
                let (ch, next) = unescape(&src, i);
                word.push(ch);
                i = next;
                continue;
            }
            if quote.is_some() {
                quote = None;
                i += 1;
                continue;
            }
            if c == '"' || c == '\'' {
                quote = Some(c);
                i += 1;
                continue;
            }
            break;
        }
        if let Some(q) = quote {
            return Err(format!("String '{}': missing terminating {}", s, q));
        }
        argv.push(word);
    }
    Ok(argv)
}

/// One escape sequence starting at `src[i]` (just after the backslash): the character and the
/// index after the sequence.
fn unescape(src: &[char], mut i: usize) -> (char, usize) {
    let c = src[i];
    if c == 'x' && src.get(i + 1).is_some_and(|d| d.is_ascii_hexdigit()) {
        // keepalived accumulates into a char, so only the low 8 bits survive.
        let mut v: u32 = 0;
        i += 1;
        while let Some(d) = src.get(i).and_then(|d| d.to_digit(16)) {
            v = ((v << 4) | d) & 0xff;
            i += 1;
        }
        return (char::from(v as u8), i);
    }
    if c == 'c' && i + 1 < src.len() {
        let v = (src[i + 1] as u32) & 0x1f;
        return (char::from(v as u8), i + 2);
    }
    if ('0'..='7').contains(&c) {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < 3 && src.get(i).is_some_and(|d| ('0'..='7').contains(d)) {
            v = (v << 3) + (src[i] as u32 - '0' as u32);
            i += 1;
            n += 1;
        }
        return (char::from((v & 0xff) as u8), i);
    }
    let ch = match c {
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        other => other,
    };
    (ch, i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(s: &str) -> PLine {
        PLine::from_str(FileId(0), 1, s)
    }

    fn dec(s: &str) -> String {
        decomment(&pl(s).chars).chars.iter().map(|p| p.c).collect()
    }

    #[test]
    fn decomment_like_keepalived() {
        assert_eq!(dec("  a b ! c"), "a b");
        assert_eq!(dec("a # c"), "a");
        assert_eq!(dec("a \"b # c\" d # e"), "a \"b # c\" d");
        assert_eq!(dec("a \\# b \\!c"), "a # b !c");
        assert_eq!(dec("a \"\\#\""), "a \"\\#\"");
        assert_eq!(dec("a 'b # c'"), "a 'b");
        assert_eq!(dec("$X=a   \\"), "$X=a\\");
        assert_eq!(dec("$X=a # c \\"), "$X=a\\");
        assert_eq!(dec("\t \t"), "");
        let d = decomment(&pl("x \"abc # d").chars);
        assert!(d.unterminated_quote);
        assert_eq!(d.quoted_text, "x \"abc # d");
        // Columns survive: the `#` of `\#` keeps its own column.
        let d = decomment(&pl("  a\\#").chars);
        assert_eq!(
            d.chars.iter().map(|p| p.col).collect::<Vec<_>>(),
            vec![3, 5]
        );
    }

    fn words(s: &str) -> Vec<(String, u32, bool)> {
        tokenize(&pl(s))
            .0
            .into_iter()
            .map(|w| (w.text, w.span.col, w.quoted))
            .collect()
    }

    #[test]
    fn tokenize_like_alloc_strvec_r() {
        assert_eq!(
            words("a  \"b c\"d'e f'"),
            vec![
                ("a".into(), 1, false),
                ("b c".into(), 4, true),
                ("d'e".into(), 9, false),
                ("f'".into(), 13, false)
            ]
        );
        assert_eq!(
            words("x\"y\""),
            vec![("x".into(), 1, false), ("y".into(), 2, true)]
        );
        assert_eq!(words("\"\""), vec![("".into(), 1, true)]);
        let (w, unmatched) = tokenize(&pl("a \"b c"));
        assert_eq!(w.len(), 1);
        assert!(unmatched);
    }

    fn split(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = pl(s).chars;
        loop {
            let rest = split_brace(&mut cur);
            out.push(cur.iter().map(|p| p.c).collect());
            match rest {
                Some(r) => cur = r,
                None => break,
            }
        }
        out
    }

    #[test]
    fn brace_splitting() {
        assert_eq!(split("a { b c }"), vec!["a", "{", "b c", "}"]);
        assert_eq!(split("{b"), vec!["{", "b"]);
        assert_eq!(split("a\"{\"{"), vec!["a\"{\"", "{"]);
        assert_eq!(split("a \"{ b"), vec!["a \"{ b"]);
        assert_eq!(split("}}"), vec!["}", "}"]);
    }

    #[test]
    fn strtol_base0() {
        let c = |s: &str| strtol0(&s.chars().collect::<Vec<_>>());
        assert_eq!(c(" 12)"), (12, 3));
        assert_eq!(c("0x1f,"), (31, 4));
        assert_eq!(c("010"), (8, 3));
        assert_eq!(c("-5"), (-5, 2));
        assert_eq!(c("0"), (0, 1));
        assert_eq!(c("0x"), (0, 1));
        assert_eq!(c("x"), (0, 0));
        assert_eq!(c("99999999999999999999999"), (i64::MAX, 23));
        assert_eq!(c("-99999999999999999999999"), (i64::MIN, 24));
    }

    #[test]
    fn script_argv() {
        let ok = |s: &str| split_script_argv(s).unwrap();
        assert_eq!(ok("/bin/echo a  b"), vec!["/bin/echo", "a", "b"]);
        assert_eq!(ok("echo \"a b\" 'c d'"), vec!["echo", "a b", "c d"]);
        assert_eq!(ok("x\"a b\"y'c'"), vec!["xa byc"]);
        assert_eq!(ok("a\\ b"), vec!["a b"]);
        assert_eq!(ok("\"a\\\"b\""), vec!["a\"b"]);
        assert_eq!(ok("'a\\'b'"), vec!["a'b"]);
        assert_eq!(
            ok("\\a\\b\\E\\f\\n\\r\\t\\v"),
            vec!["\x07\x08\x1b\x0c\n\r\t\x0b"]
        );
        assert_eq!(ok("\\101\\0\\1234"), vec!["A\0S4"]);
        assert_eq!(ok("\\x41\\x4a4\\xg"), vec!["A\u{a4}xg"]);
        assert_eq!(ok("\\cA\\c["), vec!["\x01\x1b"]);
        assert_eq!(ok("\\q\\\\"), vec!["q\\"]);
        assert_eq!(ok("''"), vec![""]);
        assert_eq!(ok("   "), Vec::<String>::new());
        assert_eq!(
            split_script_argv("echo 'abc").unwrap_err(),
            "String 'echo 'abc': missing terminating '"
        );
        assert_eq!(
            split_script_argv("echo \"a").unwrap_err(),
            "String 'echo \"a': missing terminating \""
        );
        assert_eq!(
            split_script_argv("echo \\").unwrap_err(),
            "Missing escape char at end: 'echo \\'"
        );
    }
}
