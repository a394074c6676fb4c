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

/// Legal forms that do not tell two companies apart, as whole trailing words.
const LATIN_LEGAL_FORMS: [&str; 14] = [
    "co",
    "company",
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "plc",
    "ag",
    "sa",
    "bv",
];
/// Chinese legal forms, stripped from the end of a name (longest first).
const CJK_LEGAL_FORMS: [&str; 6] = ["股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司"];

/// The words of a name without case, punctuation or trailing legal forms:
/// `Acme Inc.` → `["acme"]`, `北京星辰科技有限公司` → `["北京星辰科技"]`. A name that is
/// nothing but a legal form keeps it.
pub fn name_core_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    while let Some(last) = words.last() {
        let whole_form = LATIN_LEGAL_FORMS.contains(&last.as_str()) || CJK_LEGAL_FORMS.contains(&last.as_str());
        if whole_form && words.len() > 1 {
            words.pop();
            continue;
        }
        let stripped = CJK_LEGAL_FORMS
            .iter()
            .find_map(|form| last.strip_suffix(form))
            .filter(|rest| !rest.is_empty())
            .map(str::to_string);
        match (stripped, words.last_mut()) {
            (Some(rest), Some(slot)) => *slot = rest,
            _ => break,
        }
    }
    words
}

/// A name as compared for likely duplicates: its core words run together.
pub fn normalized_name(name: &str) -> String {
    name_core_words(name).concat()
}

/// True when two names are "very similar": the same once normalised, or one contains the
/// other and the shorter has at least four characters (so `张` is not inside everything).
pub fn similar_names(a: &str, b: &str) -> bool {
    let (a, b) = (normalized_name(a), normalized_name(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    a == b || (short.chars().count() >= 4 && long.contains(short.as_str()))
}

/// Search terms that find candidates for [`similar_names`] in the index, as alternatives
/// any of which may match: the whole normalised name (all its terms), and each 4-character
/// CJK window or 4+-letter word of it (for an existing name contained in this one).
pub fn similar_name_terms(name: &str) -> Vec<Vec<Term>> {
    let core = name_core_words(name).join(" ");
    let whole = query_terms(&core);
    if whole.is_empty() {
        return Vec::new();
    }
    let mut alternatives = vec![whole.clone()];
    for term in whole {
        match term {
            Term::Phrase(pairs) if pairs.len() > 3 => {
                alternatives.extend(pairs.windows(3).map(|w| vec![Term::Phrase(w.to_vec())]));
            }
            Term::Prefix(word) if word.chars().count() >= 4 => alternatives.push(vec![Term::Prefix(word)]),
            _ => {}
        }
    }
    alternatives.truncate(16);
    alternatives
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
    fn similar_names_ignore_case_punctuation_and_legal_forms() {
        assert_eq!(normalized_name("Acme Inc."), "acme");
        assert_eq!(normalized_name("ACME Co., Ltd"), "acme");
        assert_eq!(normalized_name("北京星辰科技有限公司"), "北京星辰科技");
        assert_eq!(normalized_name("星辰集团股份有限公司"), "星辰");
        assert_eq!(normalized_name("Zinc"), "zinc");
        assert_eq!(normalized_name("Inc"), "inc");
        assert!(similar_names("北京星辰科技", "北京星辰科技有限公司"));
        assert!(similar_names("Acme Inc.", "ACME"));
        assert!(similar_names("北京星辰科技发展", "北京星辰科技"));
        assert!(!similar_names("张", "张伟"), "short names need equality");
        assert!(!similar_names("星辰", "北京星辰科技"));
        assert!(!similar_names("", "Acme"));
        let alternatives = similar_name_terms("北京星辰科技有限公司");
        assert_eq!(alternatives[0], query_terms("北京星辰科技"));
        assert!(alternatives.contains(&query_terms("星辰科技")));
    }

    #[test]
    fn four_byte_characters_are_indexed() {
        let t = index_tokens("𠮷野家");
        assert!(t.contains("𠮷野"));
    }
}
