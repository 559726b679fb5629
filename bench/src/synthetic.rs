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

/// One article of about `target_bytes`, as plain text with a title line.
pub fn article(rng: &mut Rng, n: usize, target_bytes: usize) -> String {
    let mut text = format!(
        "{} and {} weigh new measures, report {n}\n\nBy Staff Writer {}\n\n",
        rng.pick(&PLACES),
        rng.pick(&PLACES),
        rng.below(1000)
    );
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
