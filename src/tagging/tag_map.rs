//! From the model's 1000 ImageNet classes to the words people search for.
//!
//! `assets/model/tags.tsv` (format in `assets/model/README.md`): one line per class,
//! `index<TAB>ImageNet label<TAB>word[,word...]`, e.g. `207<TAB>golden retriever<TAB>dog,animal`.
//!
//! Combining: a photo's score for a word is the sum of the probabilities of every class that maps
//! to it, capped at 1. Sibling classes split the probability between them (three dog breeds at
//! 0.2 each), and the sum says what they agree on: "dog" at 0.6. Classes below `CLASS_FLOOR`
//! are left out of the sums: on a texture or an unclear photo, hundreds of animal classes at
//! 0.1-1 % each otherwise add up to "animal" at 0.5 (seen on scikit-image's grass.png).

use super::model::CLASSES;
use super::AiTag;

/// The tag map in the binary.
pub const TAGS_TSV: &str = include_str!("../../assets/model/tags.tsv");
/// At most this many AI tags per photo.
pub const MAX_TAGS: usize = 8;
/// Class probabilities below this are noise, not evidence for their words.
pub const CLASS_FLOOR: f32 = 0.02;

/// For each class, the indices of its words in `words`.
#[derive(Debug, Clone)]
pub struct TagMap {
    words: Vec<String>,
    classes: Vec<Vec<usize>>,
}

impl TagMap {
    /// The embedded map (checked by the tests, so it always parses).
    pub fn embedded() -> TagMap {
        TagMap::parse(TAGS_TSV).expect("assets/model/tags.tsv is valid")
    }

    /// Parses the tab-separated map; `#` starts a comment line. Every class from 0 to 999 must
    /// appear once, in order, with at least one non-empty word.
    pub fn parse(text: &str) -> Result<TagMap, String> {
        let mut words: Vec<String> = Vec::new();
        let mut classes = Vec::with_capacity(CLASSES);
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        for (n, line) in lines {
            let fail = |what: &str| Err(format!("line {}: {what}", n + 1));
            let fields: Vec<&str> = line.split('\t').collect();
            let [index, label, names] = fields[..] else {
                return fail("expected index, label and words separated by tabs");
            };
            if index.parse::<usize>() != Ok(classes.len()) {
                return fail(&format!("expected class {}", classes.len()));
            }
            if label.trim().is_empty() {
                return fail("empty label");
            }
            let mut ids = Vec::new();
            for name in names.split(',') {
                let name = name.trim();
                if name.is_empty() || name != name.to_lowercase() {
                    return fail("words must be non-empty and lower case");
                }
                let id = match words.iter().position(|w| w == name) {
                    Some(id) => id,
                    None => {
                        words.push(name.to_string());
                        words.len() - 1
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            classes.push(ids);
        }
        if classes.len() != CLASSES {
            return Err(format!("{} classes, expected {CLASSES}", classes.len()));
        }
        Ok(TagMap { words, classes })
    }

    /// The words of class `index`.
    pub fn words_of(&self, index: usize) -> Vec<&str> {
        self.classes[index]
            .iter()
            .map(|&id| self.words[id].as_str())
            .collect()
    }

    /// Tags whose summed probability reaches `min_confidence`, most confident first, at most
    /// `MAX_TAGS`.
    pub fn tags(&self, probabilities: &[f32], min_confidence: f32) -> Vec<AiTag> {
        let mut scores = vec![0f32; self.words.len()];
        let evidence = self
            .classes
            .iter()
            .zip(probabilities)
            .filter(|&(_, &p)| p >= CLASS_FLOOR);
        for (ids, &p) in evidence {
            for &id in ids {
                scores[id] += p;
            }
        }
        let mut tags: Vec<AiTag> = scores
            .iter()
            .enumerate()
            .filter(|&(_, &score)| score >= min_confidence && score > 0.0)
            .map(|(id, &score)| AiTag {
                name: self.words[id].clone(),
                confidence: score.min(1.0),
            })
            .collect();
        tags.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.name.cmp(&b.name))
        });
        tags.truncate(MAX_TAGS);
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str = include_str!("../../assets/model/labels.txt");

    #[test]
    fn every_class_is_mapped_to_words_in_label_order() {
        let map = TagMap::embedded();
        let labels: Vec<&str> = LABELS.lines().collect();
        assert_eq!(labels.len(), CLASSES);
        let rows: Vec<&str> = TAGS_TSV
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        for (i, label) in labels.iter().enumerate() {
            let fields: Vec<&str> = rows[i].split('\t').collect();
            assert_eq!(fields[1], *label, "class {i}");
            let words = map.words_of(i);
            assert!(!words.is_empty(), "class {i} {label}");
            assert!(words.iter().all(|w| !w.trim().is_empty()), "class {i}");
        }
    }

    #[test]
    fn common_classes_map_to_everyday_words() {
        let map = TagMap::embedded();
        let label_index = |label: &str| {
            LABELS
                .lines()
                .position(|l| l == label)
                .unwrap_or_else(|| panic!("{label} is a class"))
        };
        for (label, expected) in [
            ("tiger cat", ["cat", "animal"]),
            ("Egyptian cat", ["cat", "animal"]),
            ("golden retriever", ["dog", "animal"]),
            ("sports car", ["car", "vehicle"]),
            ("pizza", ["pizza", "food"]),
        ] {
            let words = map.words_of(label_index(label));
            for word in expected {
                assert!(words.contains(&word), "{label}: {words:?}");
            }
        }
        assert!(map.words_of(label_index("seashore")).contains(&"beach"));
    }

    #[test]
    fn sibling_classes_add_up_and_are_capped() {
        let map = TagMap::parse(
            &(0..CLASSES)
                .map(|i| match i {
                    0..=2 => format!("{i}\tbreed {i}\tdog,animal"),
                    3 => format!("{i}\ttabby\tcat,animal"),
                    _ => format!("{i}\tthing {i}\tthing {i}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
        let mut p = vec![0.0; CLASSES];
        p[..4].copy_from_slice(&[0.2, 0.2, 0.2, 0.3]);
        p[4] = 0.05;
        let tags = map.tags(&p, 0.25);
        let names: Vec<(&str, f32)> = tags
            .iter()
            .map(|t| (t.name.as_str(), (t.confidence * 100.0).round() / 100.0))
            .collect();
        assert_eq!(names, [("animal", 0.9), ("dog", 0.6), ("cat", 0.3)]);
        p[0] = 0.9;
        p[3] = 0.5;
        assert_eq!(map.tags(&p, 0.25)[0].confidence, 1.0, "capped at 1");
    }

    #[test]
    fn many_faint_classes_are_no_evidence() {
        let map = TagMap::embedded();
        // Every animal class at 0.1 %: 40 % in total, but no class stands out.
        let mut p = vec![0.0; CLASSES];
        p[..398].fill(0.001);
        p[963] = 0.6; // pizza
        let tags = map.tags(&p, 0.3);
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["food", "pizza"]);
    }

    #[test]
    fn bad_maps_are_refused() {
        assert!(TagMap::parse("0\ttench\tfish").is_err(), "too few classes");
        let rows = |word: &str| {
            (0..CLASSES)
                .map(|i| format!("{i}\tlabel\t{word}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(TagMap::parse(&rows("fish")).is_ok());
        assert!(TagMap::parse(&rows("fish,")).is_err(), "empty word");
        assert!(TagMap::parse(&rows("Fish")).is_err(), "upper case");
    }
}
