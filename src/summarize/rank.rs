//! Picking a document's most central sentences with TextRank (Mihalcea & Tarau, 2004).
//!
//! Sentences are the nodes of a graph whose edges weigh how many content words two sentences
//! share; PageRank over that graph scores highest the sentences the rest of the text keeps
//! coming back to. The winners are returned in document order so the summary reads naturally.

use std::collections::{HashMap, HashSet};

use super::extract::Document;
use super::sentences;

/// Sentences shorter than this are fragments: bylines, buttons, captions.
const MIN_WORDS: usize = 4;
/// Sentences longer than this are usually run-together lists, and too long for a summary line.
const MAX_WORDS: usize = 80;
/// Longer sentences are a wall of text in Slack (and would strain its 3,000-character sections).
const MAX_CHARS: usize = 600;
/// Unpunctuated text is only a sentence when it is this long; shorter, it is a heading.
const UNPUNCTUATED_MIN_WORDS: usize = 10;
/// Ranking is quadratic in sentences; long pages are ranked on their first ones.
const MAX_CANDIDATES: usize = 400;

const DAMPING: f64 = 0.85;
const MAX_ITERATIONS: usize = 100;
const CONVERGED: f64 = 1e-6;

/// Words too common to say what a sentence is about.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "said",
    "same",
    "says",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "us",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "yet",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The `n` most central sentences of `doc`, in document order. Fewer when the document has
/// fewer usable sentences; none when it has none.
pub fn summarize(doc: &Document, n: usize) -> Vec<String> {
    let candidates = candidate_sentences(&doc.paragraphs);
    most_central(&candidates, n)
        .into_iter()
        .map(|index| candidates[index].to_owned())
        .collect()
}

/// The sentences worth ranking, each once, in document order.
fn candidate_sentences(paragraphs: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    paragraphs
        .iter()
        .flat_map(|paragraph| sentences::split(paragraph))
        .filter(|sentence| is_usable(sentence) && seen.insert(*sentence))
        .take(MAX_CANDIDATES)
        .collect()
}

fn is_usable(sentence: &str) -> bool {
    let words = sentence
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count();
    (MIN_WORDS..=MAX_WORDS).contains(&words)
        && sentence.chars().count() <= MAX_CHARS
        && (words >= UNPUNCTUATED_MIN_WORDS || sentences::is_punctuated(sentence))
}

/// Indices of the `n` highest-scoring sentences, ascending. Ties go to the earlier sentence,
/// which also makes a text with no shared words summarize as its opening.
fn most_central(sentences: &[&str], n: usize) -> Vec<usize> {
    let scores = text_rank(&similarities(&term_sets(sentences)));
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order
}

/// Each sentence's distinct content words, as sorted ids so overlaps are a merge.
fn term_sets(sentences: &[&str]) -> Vec<Vec<usize>> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    sentences
        .iter()
        .map(|sentence| {
            let mut terms: Vec<usize> = content_words(sentence)
                .map(|word| {
                    let next_id = ids.len();
                    *ids.entry(word).or_insert(next_id)
                })
                .collect();
            terms.sort_unstable();
            terms.dedup();
            terms
        })
        .collect()
}

/// Lowercased words that are not stop words, with a plural "s" and a possessive "'s" removed so
/// "panel", "panels" and "panel's" count as one.
fn content_words(sentence: &str) -> impl Iterator<Item = String> + '_ {
    sentence
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|word| {
            let word = word.to_lowercase();
            let word = word.trim_matches(['\'', '’']);
            let word = word
                .strip_suffix("'s")
                .or_else(|| word.strip_suffix("’s"))
                .unwrap_or(word);
            match word.strip_suffix('s') {
                Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_owned(),
                _ => word.to_owned(),
            }
        })
        // Contractions ("don't", "it's") are function words too.
        .filter(|word| {
            word.chars().count() > 1
                && !word.contains(['\'', '’'])
                && !STOP_WORDS.contains(&word.as_str())
        })
}

/// TextRank's edge weight: shared words, normalised by sentence lengths so long sentences do
/// not win by size alone.
fn similarities(term_sets: &[Vec<usize>]) -> Vec<Vec<f64>> {
    let count = term_sets.len();
    let mut weights = vec![vec![0.0; count]; count];
    for a in 0..count {
        for b in (a + 1)..count {
            let shared = shared_count(&term_sets[a], &term_sets[b]);
            if shared > 0 {
                let size = |terms: &[usize]| (1.0 + terms.len() as f64).ln();
                let weight = shared as f64 / (size(&term_sets[a]) + size(&term_sets[b]));
                weights[a][b] = weight;
                weights[b][a] = weight;
            }
        }
    }
    weights
}

fn shared_count(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// Weighted PageRank over a symmetric similarity matrix.
fn text_rank(weights: &[Vec<f64>]) -> Vec<f64> {
    let count = weights.len();
    if count == 0 {
        return Vec::new();
    }
    let out_weight: Vec<f64> = weights.iter().map(|row| row.iter().sum()).collect();
    let teleport = (1.0 - DAMPING) / count as f64;
    let mut scores = vec![1.0 / count as f64; count];
    for _ in 0..MAX_ITERATIONS {
        let next: Vec<f64> = (0..count)
            .map(|node| {
                let incoming: f64 = (0..count)
                    .filter(|&other| out_weight[other] > 0.0)
                    .map(|other| weights[other][node] / out_weight[other] * scores[other])
                    .sum();
                teleport + DAMPING * incoming
            })
            .collect();
        let change: f64 = next.iter().zip(&scores).map(|(a, b)| (a - b).abs()).sum();
        scores = next;
        if change < CONVERGED {
            break;
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(paragraphs: &[&str]) -> Document {
        Document {
            title: "Test".to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn the_sentences_the_text_keeps_returning_to_are_picked_in_order() {
        let doc = document(&[
            "Solar panels turn sunlight into electricity for ordinary homes. \
             My cousin adopted a small grey cat last winter.",
            "Cheap solar panels now make home electricity affordable for families. \
             The weather in the mountains was cold and windy all week.",
            "Pizza toppings vary widely between the regions of Italy. \
             Homes with solar panels sell spare electricity back to the grid. \
             Solar power is popular.",
        ]);

        let summary = summarize(&doc, 3);

        assert_eq!(
            summary,
            [
                "Solar panels turn sunlight into electricity for ordinary homes.",
                "Cheap solar panels now make home electricity affordable for families.",
                "Homes with solar panels sell spare electricity back to the grid.",
            ]
        );
    }

    #[test]
    fn fewer_usable_sentences_than_asked_are_all_returned() {
        let doc = document(&["Only one real sentence lives here.", "Read more", "Share"]);

        assert_eq!(summarize(&doc, 3), ["Only one real sentence lives here."]);
    }

    #[test]
    fn headings_fragments_and_repeats_are_not_candidates() {
        let doc = document(&[
            "Latest news from the valley",
            "By Jane.",
            "The river rose two metres overnight.",
            "The river rose two metres overnight.",
        ]);

        assert_eq!(
            candidate_sentences(&doc.paragraphs),
            ["The river rose two metres overnight."]
        );
    }

    #[test]
    fn no_usable_sentences_give_an_empty_summary() {
        assert!(summarize(&document(&["Menu", "Home | About"]), 3).is_empty());
        assert!(summarize(&document(&[]), 3).is_empty());
    }

    #[test]
    fn unrelated_sentences_summarize_as_the_opening() {
        let doc = document(&[
            "Alpha bravo charlie delta echo. Foxtrot golf hotel india juliet. \
             Kilo lima mike november oscar. Papa quebec romeo sierra tango.",
        ]);

        assert_eq!(
            summarize(&doc, 2),
            [
                "Alpha bravo charlie delta echo.",
                "Foxtrot golf hotel india juliet."
            ]
        );
    }

    #[test]
    fn plurals_possessives_and_case_count_as_one_word() {
        let words: Vec<String> = content_words("The Panels' panel's PANELS don't glass").collect();

        assert_eq!(words, ["panel", "panel", "panel", "glass"]);
    }
}
