//! "Did you mean" for the expression language: the nearest known word to a misspelt one (by
//! optimal-string-alignment edit distance, at most a third of its length), and the words other
//! languages use for ours (`crossover` → `crosses_above`, `&&` → `and`).

/// Spellings from other tools and languages, with ours.
const ALIASES: &[(&str, &str)] = &[
    ("crossover", "crosses_above"),
    ("cross_over", "crosses_above"),
    ("crosses_over", "crosses_above"),
    ("cross_above", "crosses_above"),
    ("crossed_above", "crosses_above"),
    ("crossesabove", "crosses_above"),
    ("cross_up", "crosses_above"),
    ("crossunder", "crosses_below"),
    ("cross_under", "crosses_below"),
    ("crosses_under", "crosses_below"),
    ("cross_below", "crosses_below"),
    ("crossed_below", "crosses_below"),
    ("crossesbelow", "crosses_below"),
    ("cross_down", "crosses_below"),
    ("&&", "and"),
    ("||", "or"),
    ("price", "close"),
    ("vol", "volume"),
];

/// Our word for `word` when another tool spells it so.
pub(crate) fn alias(word: &str) -> Option<&'static str> {
    let w = word.to_ascii_lowercase();
    ALIASES.iter().find(|(a, _)| *a == w).map(|(_, ours)| *ours)
}

/// The candidate nearest to `word`, if near enough to be a slip (an alias counts first).
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    let limit = (w.chars().count() / 3).max(1);
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    if let Some(ours) = alias(&w)
        && let Some(c) = candidates.iter().find(|c| **c == ours)
    {
        return Some(c);
    }
    candidates
        .into_iter()
        .map(|c| (distance(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "; did you mean 'x'?" for `word` among `candidates`, or nothing.
pub(crate) fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates).map_or_else(String::new, |c| format!("; did you mean '{c}'?"))
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 3 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_and_other_spellings_find_ours() {
        let words = ["sma", "ema", "rsi", "macd", "bbands"];
        assert_eq!(nearest("smaa", words), Some("sma"));
        assert_eq!(nearest("rsl", words), Some("rsi"));
        assert_eq!(nearest("mcad", words), Some("macd"));
        assert_eq!(nearest("zigzag", words), None);
        let ops = ["and", "or", "not", "crosses_above", "crosses_below"];
        assert_eq!(nearest("crossover", ops), Some("crosses_above"));
        assert_eq!(nearest("crosses_abve", ops), Some("crosses_above"));
        assert_eq!(hint("crossunder", ops), "; did you mean 'crosses_below'?");
    }
}
