//! Title + clean body → sector tags with evidence, entities, country pairs.
//! (Interim version; the full analyser replaces it.)

/// Byte span into the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// The fixed sector taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Sector {
    Trade,
    Energy,
    Defence,
    Education,
    Culture,
    Tourism,
    Technology,
    Climate,
    Transport,
    Finance,
    Agriculture,
    Health,
    Politics,
    Science,
    Sport,
    Media,
}

impl Sector {
    /// Every sector in taxonomy order.
    pub const ALL: [Sector; 16] = [
        Sector::Trade,
        Sector::Energy,
        Sector::Defence,
        Sector::Education,
        Sector::Culture,
        Sector::Tourism,
        Sector::Technology,
        Sector::Climate,
        Sector::Transport,
        Sector::Finance,
        Sector::Agriculture,
        Sector::Health,
        Sector::Politics,
        Sector::Science,
        Sector::Sport,
        Sector::Media,
    ];
    /// Slug.
    pub fn slug(self) -> &'static str {
        match self {
            Sector::Trade => "trade",
            Sector::Energy => "energy",
            Sector::Defence => "defence",
            Sector::Education => "education",
            Sector::Culture => "culture",
            Sector::Tourism => "tourism",
            Sector::Technology => "technology",
            Sector::Climate => "climate",
            Sector::Transport => "transport",
            Sector::Finance => "finance",
            Sector::Agriculture => "agriculture",
            Sector::Health => "health",
            Sector::Politics => "politics",
            Sector::Science => "science",
            Sector::Sport => "sport",
            Sector::Media => "media",
        }
    }
    /// Label.
    pub fn label(self) -> &'static str {
        self.slug()
    }
    /// Description.
    pub fn description(self) -> &'static str {
        self.slug()
    }
    /// IPTC code.
    pub fn iptc_media_topic(self) -> &'static str {
        "medtop:00000000"
    }
    /// Parse a slug.
    pub fn from_slug(s: &str) -> Option<Sector> {
        match s.to_ascii_lowercase().as_str() {
            "investment" => Some(Sector::Finance),
            "diplomacy" => Some(Sector::Politics),
            "defense" | "security" => Some(Sector::Defence),
            other => Sector::ALL.into_iter().find(|x| x.slug() == other),
        }
    }
}

/// Evidence sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Sentence span.
    pub span: Span,
    /// Matched terms.
    pub terms: Vec<String>,
}

/// A sector tag.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorTag {
    /// Sector.
    pub sector: Sector,
    /// Score.
    pub score: f32,
    /// Evidence.
    pub evidence: Vec<Evidence>,
}

/// Entity kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EntityKind {
    Country,
    Person,
    Organisation,
    Place,
}

/// An entity.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct Entity {
    pub kind: EntityKind,
    pub key: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub role: Option<String>,
    pub mentions: Vec<Span>,
}

/// A country pair.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct CountryPair {
    pub a: String,
    pub b: String,
    pub weight: f32,
    pub sectors: Vec<Sector>,
}

/// The analysis.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    /// Tags.
    pub sectors: Vec<SectorTag>,
    /// Entities.
    pub entities: Vec<Entity>,
    /// Pairs.
    pub country_pairs: Vec<CountryPair>,
}

/// Version of the analyser output; bump when tags or entities change.
pub const ANALYZER_VERSION: &str = "0.1.0";

/// Analyses one article.
pub fn analyze(_title: &str, body: &str) -> Analysis {
    let mut sectors = Vec::new();
    for sector in Sector::ALL {
        if let Some(pos) = body.to_lowercase().find(sector.slug()) {
            if body.is_char_boundary(pos) && body.is_char_boundary(pos + sector.slug().len()) {
                sectors.push(SectorTag {
                    sector,
                    score: 0.5,
                    evidence: vec![Evidence {
                        span: Span {
                            start: pos,
                            end: pos + sector.slug().len(),
                        },
                        terms: vec![sector.slug().into()],
                    }],
                });
            }
        }
    }
    Analysis {
        sectors,
        ..Default::default()
    }
}
