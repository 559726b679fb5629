//! Deterministic synthetic articles: sentences assembled from a small
//! vocabulary of sector phrases and connectives, so parsing and tagging do
//! realistic work and every article is distinct.

/// xorshift64*: fast, reproducible, dependency-free.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SUBJECTS: [&str; 10] = [
    "The energy ministry",
    "Trade negotiators",
    "The central bank",
    "Defence officials",
    "University leaders",
    "The tourism board",
    "Farmers' unions",
    "Port authorities",
    "Health inspectors",
    "Technology firms",
];
const VERBS: [&str; 8] = [
    "announced",
    "reviewed",
    "signed",
    "criticised",
    "proposed",
    "welcomed",
    "delayed",
    "expanded",
];
const OBJECTS: [&str; 12] = [
    "a pipeline carrying natural gas to the coast",
    "a free trade agreement cutting tariffs on machinery",
    "an interest rate decision affecting bond yields",
    "joint military exercises near the border",
    "scholarships for engineering students",
    "new direct flights for holiday travellers",
    "subsidies for wheat and maize harvests",
    "a rail freight corridor linking two ports",
    "a vaccination campaign in rural clinics",
    "a data centre powered by solar panels",
    "an investment fund for small businesses",
    "a museum exhibition of medieval manuscripts",
];
const PLACES: [&str; 10] = [
    "Kenya",
    "Chile",
    "Norway",
    "Vietnam",
    "Morocco",
    "Canada",
    "Poland",
    "Indonesia",
    "Peru",
    "Ghana",
];

/// Title and byline, distinct per `n`.
fn headline(rng: &mut Rng, n: usize) -> String {
    format!(
        "{} and {} weigh new measures, report {n}\n\nBy Staff Writer {}\n\n",
        rng.pick(&PLACES),
        rng.pick(&PLACES),
        rng.below(1000)
    )
}

/// One article of about `target_bytes`, as plain text with a title line.
pub fn article(rng: &mut Rng, n: usize, target_bytes: usize) -> String {
    let mut text = headline(rng, n);
    while text.len() < target_bytes {
        let mut paragraph = String::new();
        for _ in 0..4 {
            paragraph.push_str(&format!(
                "{} in {} {} {} on {} day {}. ",
                rng.pick(&SUBJECTS),
                rng.pick(&PLACES),
                rng.pick(&VERBS),
                rng.pick(&OBJECTS),
                rng.pick(&["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
                rng.below(10_000)
            ));
        }
        text.push_str(paragraph.trim_end());
        text.push_str("\n\n");
    }
    text
}

/// Distinct filler words, drawn with Zipf's law as real vocabulary is.
const VOCABULARY: usize = 30_000;
const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ren", "tas", "vo", "dre", "po", "sin", "gal", "ur", "te", "bes", "mon", "ari", "hul",
];

/// The filler word of frequency rank `rank` (0 = most frequent): two to
/// four syllables spelling the rank, so every rank is a distinct word.
fn word(rank: usize, out: &mut String) {
    let mut n = rank + SYLLABLES.len();
    while n > 0 {
        out.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
}

/// Cumulative Zipf (s = 1) weights over the vocabulary, for inverse sampling.
fn zipf_table() -> &'static [f64] {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut total = 0.0;
        (1..=VOCABULARY)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect()
    })
}

impl Rng {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn zipf_rank(&mut self) -> usize {
        let table = zipf_table();
        let target = self.unit() * table[table.len() - 1];
        table.partition_point(|&c| c < target).min(VOCABULARY - 1)
    }
}

/// One article of about `target_bytes` that is *about* something, as news
/// is: one main topic (and sometimes a second) carries most sentences, the
/// rest is prose over a Zipf-distributed vocabulary. A query for a topic
/// therefore matches a realistic fraction of a large corpus (about one
/// article in eight), where [`article`], which mixes every topic into every
/// text, matches nearly all of it.
pub fn topical_article(rng: &mut Rng, n: usize, target_bytes: usize) -> String {
    let main = rng.below(OBJECTS.len());
    let second = (rng.below(10) < 4).then(|| rng.below(OBJECTS.len()));
    let mut text = headline(rng, n);
    while text.len() < target_bytes {
        for _ in 0..4 {
            let roll = rng.below(20);
            let topic = match (roll, second) {
                (0..=7, _) => Some(main),
                (8..=10, Some(s)) => Some(s),
                _ => None,
            };
            text.push_str(rng.pick(&SUBJECTS));
            text.push_str(" in ");
            text.push_str(rng.pick(&PLACES));
            text.push(' ');
            text.push_str(rng.pick(&VERBS));
            match topic {
                Some(t) => {
                    text.push(' ');
                    text.push_str(OBJECTS[t]);
                }
                None => {
                    for _ in 0..8 + rng.below(8) {
                        text.push(' ');
                        let rank = rng.zipf_rank();
                        word(rank, &mut text);
                    }
                }
            }
            text.push_str(&format!(" on day {}. ", rng.below(10_000)));
        }
        text.truncate(text.trim_end().len());
        text.push_str("\n\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct_per_rank() {
        let words: std::collections::HashSet<String> = (0..VOCABULARY)
            .map(|r| {
                let mut w = String::new();
                word(r, &mut w);
                w
            })
            .collect();
        assert_eq!(words.len(), VOCABULARY);
    }

    #[test]
    fn a_topic_phrase_is_in_a_minority_of_topical_articles() {
        let mut rng = Rng(3);
        let texts: Vec<String> = (0..400).map(|i| topical_article(&mut rng, i, 3_000)).collect();
        let with = texts.iter().filter(|t| t.contains("natural gas")).count();
        assert!((10..120).contains(&with), "{with} of 400");
        assert!(texts.iter().all(|t| t.len() >= 3_000 && t.len() < 3_600));
        let mut mixed = Rng(3);
        let everywhere = (0..50)
            .filter(|&i| article(&mut mixed, i, 3_000).contains("natural gas"))
            .count();
        assert!(everywhere > 45, "{everywhere} of 50");
    }
}
