//! Search tokens: how text is cut up for the global search index, the same on both databases.
//!
//! A run of CJK characters is indexed as single characters plus overlapping pairs, so any
//! 2+ character fragment (`北京`, `张伟`) is found; Latin words are lower-cased and found
//! by prefix. The query side turns what the user typed into the same tokens.

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x3040..=0x30FF | 0xAC00..=0xD7AF | 0x20000..=0x3134F)
}

/// Most characters of one record's text that go into the index.
pub const MAX_INDEXED_CHARS: usize = 8_192;

/// The index-side token string for a record's searchable text.
///
/// Tokens stay in text order (a CJK run as its overlapping pairs, one after the other), so
/// a 3+ character fragment can be asked for as a phrase of adjacent pairs; the single
/// characters of longer runs follow at the end, for one-character queries.
pub fn index_tokens(text: &str) -> String {
    let text: String = text.chars().take(MAX_INDEXED_CHARS).collect();
    let mut out = Vec::new();
    let mut singles = Vec::new();
    for piece in split(&text) {
        match piece {
            Piece::Cjk(run) if run.len() == 1 => out.push(run[0].to_string()),
            Piece::Cjk(run) => {
                out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
                singles.extend(run.iter().map(|c| c.to_string()));
            }
            Piece::Word(w) => out.push(w),
        }
    }
    singles.sort();
    singles.dedup();
    out.extend(singles);
    out.join(" ")
}

/// What the user typed, as search terms that must all match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A token that must be present exactly (a CJK character or pair).
    Exact(String),
    /// A sequence of CJK pairs that must stand next to each other (a 3+ character fragment).
    Phrase(Vec<String>),
    /// A Latin word matched by prefix.
    Prefix(String),
}

/// Turns a query into terms; an empty result means "nothing searchable was typed".
pub fn query_terms(query: &str) -> Vec<Term> {
    let query: String = query.chars().take(200).collect();
    let mut terms = Vec::new();
    for piece in split(&query) {
        match piece {
            Piece::Cjk(run) if run.len() == 1 => terms.push(Term::Exact(run[0].to_string())),
            Piece::Cjk(run) if run.len() == 2 => terms.push(Term::Exact(run.iter().collect())),
            Piece::Cjk(run) => terms.push(Term::Phrase(run.windows(2).map(|w| w.iter().collect()).collect())),
            Piece::Word(w) => terms.push(Term::Prefix(w)),
        }
    }
    terms.truncate(16);
    terms
}

enum Piece {
    Cjk(Vec<char>),
    Word(String),
}

fn split(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                pieces.push(Piece::Word(std::mem::take(&mut word).to_lowercase()));
            }
            run.push(c);
        } else {
            if !run.is_empty() {
                pieces.push(Piece::Cjk(std::mem::take(&mut run)));
            }
            if c.is_alphanumeric() {
                word.push(c);
            } else if !word.is_empty() {
                pieces.push(Piece::Word(std::mem::take(&mut word).to_lowercase()));
            }
        }
    }
    if !run.is_empty() {
        pieces.push(Piece::Cjk(run));
    }
    if !word.is_empty() {
        pieces.push(Piece::Word(word.to_lowercase()));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_fragments_and_latin_words() {
        let t = index_tokens("北京市朝阳区 张伟 Alice@Example.com");
        for tok in ["北京", "京市", "朝阳", "张伟", "北", "alice", "example", "com"] {
            assert!(t.split(' ').any(|x| x == tok), "{tok} missing from {t}");
        }
        assert_eq!(query_terms("北京"), vec![Term::Exact("北京".into())]);
        assert_eq!(
            query_terms("北京市"),
            vec![Term::Phrase(vec!["北京".into(), "京市".into()])]
        );
        assert_eq!(query_terms("Ali"), vec![Term::Prefix("ali".into())]);
        assert!(query_terms("  -- ").is_empty());
    }

    #[test]
    fn index_keeps_pairs_in_text_order() {
        let t = index_tokens("北京 南京市");
        let tokens: Vec<&str> = t.split(' ').collect();
        let pos = |tok: &str| tokens.iter().position(|x| *x == tok);
        // 京市 follows 南京, not 北京: a phrase 北京 京市 must not match this text.
        assert_eq!(pos("京市"), pos("南京").map(|p| p + 1));
        assert_ne!(pos("京市"), pos("北京").map(|p| p + 1));
        assert!(tokens.contains(&"市"), "single characters are indexed: {t}");
    }

    #[test]
    fn four_byte_characters_are_indexed() {
        let t = index_tokens("𠮷野家");
        assert!(t.contains("𠮷野"));
    }
}
