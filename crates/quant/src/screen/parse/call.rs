//! Indicator calls: the name resolved against the catalogue, positional and named arguments,
//! an optional input column and `.output`.

use crate::indicators::{IndicatorSpec, catalog, spec};

use super::ast::{Call, Column, Expr, Kind};
use super::lex::Tok;
use super::parser::{Parsed, Parser};
use super::{ParseError, suggest};

impl Parser {
    pub(super) fn parse_name(&mut self, name: String, col: usize) -> Result<Parsed, ParseError> {
        if let Some(column) = Column::from_name(&name) {
            if matches!(self.peek().0, Tok::LParen | Tok::Dot) {
                return Err(ParseError::new(
                    self.peek().1,
                    format!("'{name}' is a price column, not an indicator; it takes no arguments"),
                ));
            }
            return Ok((Expr::Column(column), Kind::Number, col, 0));
        }
        if name == "model" && *self.peek().0 == Tok::LParen {
            return self.parse_model(col);
        }
        let spec = spec(&name).map_err(|e| {
            let known = catalog()
                .iter()
                .map(|s| s.name)
                .chain(Column::ALL.map(Column::name));
            let hint = suggest::nearest(&name, known)
                .map_or_else(String::new, |c| format!("did you mean '{c}'? "));
            ParseError::new(
                col,
                format!(
                    "{hint}{e}; columns: {}",
                    Column::ALL.map(Column::name).join(", ")
                ),
            )
        })?;
        let mut written = spec.name.to_string();
        let mut source = None;
        let mut values: Vec<Option<f64>> = vec![None; spec.params.len()];
        if *self.peek().0 == Tok::LParen {
            let (_, open_col) = self.bump();
            let mut shown = Vec::new();
            let mut positional = 0usize;
            let mut named_seen = false;
            if *self.peek().0 == Tok::RParen {
                self.bump();
            } else {
                loop {
                    self.parse_arg(
                        spec,
                        &mut source,
                        &mut values,
                        &mut positional,
                        &mut named_seen,
                        &mut shown,
                    )?;
                    let (t, c) = self.bump();
                    match t {
                        Tok::Comma => continue,
                        Tok::RParen => break,
                        other => {
                            return Err(ParseError::new(
                                c,
                                format!(
                                    "expected ',' or ')' to close the arguments of {} opened at \
                                     column {open_col}, found {}",
                                    spec.name,
                                    other.describe()
                                ),
                            ));
                        }
                    }
                }
            }
            written = format!("{}({})", spec.name, shown.join(", "));
        }
        let mut output = 0;
        if *self.peek().0 == Tok::Dot {
            self.bump();
            let (t, c) = self.bump();
            let outputs = || {
                spec.outputs
                    .iter()
                    .map(|o| o.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Tok::Ident(out_name) = t else {
                return Err(ParseError::new(
                    c,
                    format!(
                        "expected an output name of {} after '.' ({}), found {}",
                        spec.name,
                        outputs(),
                        t.describe()
                    ),
                ));
            };
            output = spec
                .outputs
                .iter()
                .position(|o| o.name == out_name)
                .ok_or_else(|| {
                    ParseError::new(
                        c,
                        format!(
                            "{} has no output '{out_name}'; its outputs: {}",
                            spec.name,
                            outputs()
                        ),
                    )
                })?;
            written.push('.');
            written.push_str(&out_name);
        }
        let params = spec
            .params
            .iter()
            .zip(values)
            .map(|(p, v)| v.unwrap_or(p.default))
            .collect();
        Ok((
            Expr::Indicator(Call {
                spec,
                source,
                params,
                output,
                written,
            }),
            Kind::Number,
            col,
            0,
        ))
    }

    /// `model('id')` (or `model("id")`, or the bare id): after the name, at `col`.
    fn parse_model(&mut self, col: usize) -> Result<Parsed, ParseError> {
        self.bump();
        let (tok, c) = self.bump();
        let id = match tok {
            Tok::Text(s) | Tok::Ident(s) if !s.trim().is_empty() => s.trim().to_string(),
            other => {
                return Err(ParseError::new(
                    c,
                    format!(
                        "expected a model id in quotes, e.g. model('mdl_…') from train_model, \
                         found {}",
                        other.describe()
                    ),
                ));
            }
        };
        let (close, cc) = self.bump();
        if close != Tok::RParen {
            return Err(ParseError::new(
                cc,
                format!(
                    "expected ')' after the model id, found {}",
                    close.describe()
                ),
            ));
        }
        Ok((Expr::Model(id), Kind::Number, col, 0))
    }

    /// One argument of an indicator call: a source column (first only), a positional number or
    /// `name = number`.
    pub(super) fn parse_arg(
        &mut self,
        spec: &'static IndicatorSpec,
        source: &mut Option<Column>,
        values: &mut [Option<f64>],
        positional: &mut usize,
        named_seen: &mut bool,
        shown: &mut Vec<String>,
    ) -> Result<(), ParseError> {
        let accepted = || {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            if names.is_empty() {
                "no parameters".to_string()
            } else {
                names.join(", ")
            }
        };
        let (tok, col) = self.bump();
        match tok {
            Tok::Ident(name) if Column::from_name(&name).is_some() => {
                if *positional > 0 || *named_seen || source.is_some() {
                    return Err(ParseError::new(
                        col,
                        format!(
                            "the input column ('{name}') must be the first argument of {}",
                            spec.name
                        ),
                    ));
                }
                *source = Column::from_name(&name);
                shown.push(name);
            }
            Tok::Ident(name) => {
                let (eq, eq_col) = self.bump();
                if eq != Tok::Assign {
                    return Err(ParseError::new(
                        eq_col,
                        format!(
                            "expected '=' after parameter name '{name}' (arguments are numbers, \
                             a first input column, or name=number), found {}",
                            eq.describe()
                        ),
                    ));
                }
                let idx = spec
                    .params
                    .iter()
                    .position(|p| p.name == name)
                    .ok_or_else(|| {
                        ParseError::new(
                            col,
                            format!(
                                "{}: unknown parameter '{name}'; it takes: {}",
                                spec.name,
                                accepted()
                            ),
                        )
                    })?;
                if values[idx].is_some() {
                    return Err(ParseError::new(
                        col,
                        format!("{}: parameter '{name}' given twice", spec.name),
                    ));
                }
                let v = self.parse_number_arg(spec)?;
                values[idx] = Some(v);
                *named_seen = true;
                shown.push(format!("{name}={v}"));
            }
            Tok::Number(_) | Tok::Minus => {
                if *named_seen {
                    return Err(ParseError::new(
                        col,
                        "positional arguments must come before named ones",
                    ));
                }
                self.pos -= 1;
                let v = self.parse_number_arg(spec)?;
                let idx = *positional;
                if idx >= spec.params.len() {
                    return Err(ParseError::new(
                        col,
                        format!(
                            "{} takes {} parameter(s) ({}), got more",
                            spec.name,
                            spec.params.len(),
                            accepted()
                        ),
                    ));
                }
                values[idx] = Some(v);
                *positional += 1;
                shown.push(format!("{v}"));
            }
            other => {
                return Err(ParseError::new(
                    col,
                    format!(
                        "expected an argument of {} (a number, name=number, or an input column \
                         first), found {}",
                        spec.name,
                        other.describe()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn parse_number_arg(&mut self, spec: &IndicatorSpec) -> Result<f64, ParseError> {
        let (tok, col) = self.bump();
        let (neg, tok, col) = if tok == Tok::Minus {
            let (t, c) = self.bump();
            (true, t, c)
        } else {
            (false, tok, col)
        };
        match tok {
            Tok::Number(v) => Ok(if neg { -v } else { v }),
            other => Err(ParseError::new(
                col,
                format!(
                    "expected a number as an argument of {}, found {}",
                    spec.name,
                    other.describe()
                ),
            )),
        }
    }
}
