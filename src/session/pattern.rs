//! LIST patterns (RFC 9051 section 6.3.9): `*` matches anything, `%` anything but the
//! hierarchy delimiter.
//!
//! A pattern is compiled once per command. Runs of wildcards collapse (`*%*%` means `*`), so
//! no two wildcards are adjacent and a pattern has at most one wildcard more than it has
//! literal characters; a name shorter than the literals cannot match and is rejected at
//! once. Matching is a dynamic program over (pattern token, name position), so its cost is
//! bounded by tokens × name length, never exponential, and [`Pattern::cost`] lets the
//! caller refuse a command whose total would be unreasonable.

use super::names::DELIMITER;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`
    Any,
    /// `%`
    Level,
}

#[derive(Debug, Clone)]
pub struct Pattern {
    tokens: Vec<Token>,
    literals: usize,
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let mut tokens: Vec<Token> = Vec::new();
        let mut literals = 0;
        for c in pattern.chars() {
            let token = match c {
                '*' => Token::Any,
                '%' => Token::Level,
                c => {
                    literals += 1;
                    Token::Literal(c)
                }
            };
            match (tokens.last_mut(), token) {
                // `*` absorbs any wildcard next to it; `%%` means `%`.
                (Some(last @ Token::Level), Token::Any) => *last = Token::Any,
                (Some(Token::Any), Token::Any | Token::Level)
                | (Some(Token::Level), Token::Level) => {}
                _ => tokens.push(token),
            }
        }
        Pattern { tokens, literals }
    }

    /// An upper bound of the steps matching a name of `chars` characters takes.
    pub fn cost(&self, chars: usize) -> usize {
        if chars < self.literals {
            1
        } else {
            self.tokens.len().saturating_mul(chars + 1)
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        let n: Vec<char> = name.chars().collect();
        if n.len() < self.literals {
            return false;
        }
        // reach[j]: the tokens so far match the first j characters of the name.
        let mut reach = vec![false; n.len() + 1];
        let mut next = vec![false; n.len() + 1];
        reach[0] = true;
        for token in &self.tokens {
            match *token {
                Token::Any | Token::Level => {
                    let mut any = false;
                    for j in 0..=n.len() {
                        if *token == Token::Level && j > 0 && n[j - 1] == DELIMITER {
                            any = false;
                        }
                        any |= reach[j];
                        next[j] = any;
                    }
                }
                Token::Literal(c) => {
                    next[0] = false;
                    for j in 1..=n.len() {
                        next[j] = reach[j - 1] && n[j - 1] == c;
                    }
                }
            }
            std::mem::swap(&mut reach, &mut next);
            if !reach.contains(&true) {
                return false;
            }
        }
        reach[n.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::new(pattern).matches(name)
    }

    #[test]
    fn wildcards_follow_rfc_9051_section_6_3_9() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "a"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a*c", "a/b/c"));
        assert!(matches("INBOX", "INBOX"));
        assert!(!matches("Sent", "Sent Items"));
        assert!(matches("*****x", "yyyx"));
        assert!(matches("%*%", "a/b"), "* next to % may cross levels");
        assert!(!matches("%%", "a/b"));
        assert!(matches("", "") && !matches("", "a"));
    }

    #[test]
    fn wildcard_runs_collapse_and_short_names_are_rejected_cheaply() {
        let p = Pattern::new(&"*%".repeat(30_000));
        assert_eq!(p.tokens, [Token::Any]);
        assert!(p.matches("any/name"));
        let p = Pattern::new(&"a*".repeat(1000));
        assert_eq!(
            p.cost(10),
            1,
            "a name shorter than the literals costs nothing"
        );
        assert!(!p.matches("aaaa"));
    }

    /// The matcher before wildcard runs were collapsed, as the reference.
    fn reference(pattern: &str, name: &str) -> bool {
        let p: Vec<char> = pattern.chars().collect();
        let n: Vec<char> = name.chars().collect();
        fn go(p: &[char], n: &[char]) -> bool {
            match p.first() {
                None => n.is_empty(),
                Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..])),
                Some('%') => (0..=n.len())
                    .take_while(|&k| k == 0 || n[k - 1] != DELIMITER)
                    .any(|k| go(&p[1..], &n[k..])),
                Some(&c) => n.first() == Some(&c) && go(&p[1..], &n[1..]),
            }
        }
        go(&p, &n)
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_backtracking_definition(
            pattern in "[ab/*%]{0,8}",
            name in "[ab/]{0,8}",
        ) {
            proptest::prop_assert_eq!(matches(&pattern, &name), reference(&pattern, &name));
        }
    }
}
