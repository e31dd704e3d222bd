//! The lexer and recursive-descent parser of apimachinery's `labels.Parse`, including its
//! error texts and its quirks (`in`/`notin` are identifiers in value position, `()` means
//! the empty value, a NUL byte ends the input).

use std::collections::BTreeSet;

use super::validation::{go_quote, invalid, validate_label_key};
use super::{Operator, Requirement, SelectorError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// Whether `in`/`notin` keep their keyword meaning (only right after a key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

fn keyword(text: &str) -> Option<Token> {
    Some(match text {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_special_symbol(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

/// Tokenise the whole input up front, ending with `EndOfString` (as `Parser.scan`).
fn lex(input: &str) -> Vec<(Token, String)> {
    // apimachinery's lexer reads a 0 byte as end of input.
    let input = input.split('\0').next().unwrap_or_default();
    let chars: Vec<char> = input.chars().collect();
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        while chars.get(pos).is_some_and(|&c| is_whitespace(c)) {
            pos += 1;
        }
        let Some(&first) = chars.get(pos) else {
            items.push((Token::EndOfString, String::new()));
            return items;
        };
        let (token, text, next) = if is_special_symbol(first) {
            scan_special_symbol(&chars, pos)
        } else {
            scan_identifier_or_keyword(&chars, pos)
        };
        items.push((token, text));
        pos = next;
    }
}

/// Longest operator among the two-character `==`/`!=` and the one-character symbols.
fn scan_special_symbol(chars: &[char], pos: usize) -> (Token, String, usize) {
    let two: String = chars.iter().skip(pos).take(2).collect();
    if let Some(token) = keyword(&two).filter(|_| two.chars().count() == 2) {
        return (token, two, pos + 2);
    }
    let one: String = chars.iter().skip(pos).take(1).collect();
    match keyword(&one) {
        Some(token) => (token, one, pos + 1),
        // Unreachable with the current symbol set; kept for parity with the Go lexer.
        None => (Token::Identifier, one, pos + 1),
    }
}

fn scan_identifier_or_keyword(chars: &[char], pos: usize) -> (Token, String, usize) {
    let text: String = chars.iter().skip(pos).take_while(|&&c| !is_special_symbol(c) && !is_whitespace(c)).collect();
    let next = pos + text.chars().count();
    let token = keyword(&text).unwrap_or(Token::Identifier);
    (token, text, next)
}

pub(super) struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    pub(super) fn new(input: &str) -> Self {
        Parser { items: lex(input), position: 0 }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        let (token, text) = self.items.get(self.position).cloned().unwrap_or((Token::EndOfString, String::new()));
        let token = match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => token,
        };
        (token, text)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    /// `Parser.parse`: requirements separated by commas.
    pub(super) fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (token, text) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self.parse_requirement().map_err(SelectorError::Requirement)?;
                    requirements.push(requirement);
                    if self.after_requirement()? {
                        return Ok(requirements);
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(SelectorError::Syntax(format!(
                        "found '{text}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    /// After a requirement: end of input (true) or a comma followed by another one (false).
    fn after_requirement(&mut self) -> Result<bool, SelectorError> {
        let (token, text) = self.consume(Context::Values);
        match token {
            Token::EndOfString => Ok(true),
            Token::Comma => {
                let (next, next_text) = self.lookahead(Context::Values);
                if next != Token::Identifier && next != Token::DoesNotExist {
                    return Err(SelectorError::Syntax(format!("found '{next_text}', expected: identifier after ','")));
                }
                Ok(false)
            }
            _ => Err(SelectorError::Syntax(format!("found '{text}', expected: ',' or 'end of string'"))),
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, unary) = self.parse_key_and_infer_operator()?;
        if let Some(operator) = unary {
            return Requirement::new(key, operator, Vec::new());
        }
        let operator = self.parse_operator()?;
        let values = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values.into_iter().collect())
    }

    /// The key, and Exists/DoesNotExist when no binary operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let (mut token, mut text) = self.consume(Context::Values);
        let negated = token == Token::DoesNotExist;
        if negated {
            (token, text) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{text}', expected: identifier"));
        }
        if let Some(detail) = validate_label_key(&text) {
            // apimachinery validates with a nil field path here, printed as "<nil>".
            return Err(invalid("<nil>", &go_quote(&text), &detail));
        }
        let (next, _) = self.lookahead(Context::Values);
        let unary = if negated {
            Some(Operator::DoesNotExist)
        } else if next == Token::EndOfString || next == Token::Comma {
            Some(Operator::Exists)
        } else {
            None
        };
        Ok((text, unary))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (token, text) = self.consume(Context::KeyAndOperator);
        match token {
            Token::In => Ok(Operator::In),
            Token::Equals => Ok(Operator::Equals),
            Token::DoubleEquals => Ok(Operator::DoubleEquals),
            Token::GreaterThan => Ok(Operator::GreaterThan),
            Token::LessThan => Ok(Operator::LessThan),
            Token::NotIn => Ok(Operator::NotIn),
            Token::NotEquals => Ok(Operator::NotEquals),
            _ => Err(format!("found '{text}', expected: in, notin, =, ==, !=, gt, lt")),
        }
    }

    /// `(a,b,c)`; `()` is the set holding only the empty value.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (token, text) = self.consume(Context::Values);
        if token != Token::OpenPar {
            return Err(format!("found '{text}' expected: '('"));
        }
        let (token, text) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let (closing, _) = self.consume(Context::Values);
                if closing != Token::ClosedPar {
                    return Err(format!("found '{text}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{text}', expected: ',', ')' or identifier")),
        }
    }

    /// Comma-separated, possibly empty identifiers up to (not including) `)`.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut values = BTreeSet::new();
        loop {
            let (token, text) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(text);
                    let (next, next_text) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(format!("found '{next_text}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new());
                    }
                    let (next, _) = self.lookahead(Context::Values);
                    if next == Token::ClosedPar {
                        values.insert(String::new());
                        return Ok(values);
                    }
                    if next == Token::Comma {
                        self.consume(Context::Values);
                        values.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{text}', expected: ',', or identifier")),
            }
        }
    }

    /// The single value of `=`, `==`, `!=`, `>`, `<`; nothing before `,`/end means "".
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (next, _) = self.lookahead(Context::Values);
        if next == Token::EndOfString || next == Token::Comma {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (token, text) = self.consume(Context::Values);
        if token == Token::Identifier {
            return Ok(BTreeSet::from([text]));
        }
        Err(format!("found '{text}', expected: identifier"))
    }
}
