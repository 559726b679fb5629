//! The fixed sector taxonomy: slugs are the wire format, labels are what people read, and IPTC
//! Media Topic codes let outside tools join our tags onto their own news archives.

/// An economic or policy sector an article can be about.
///
/// The set is deliberately small and fixed: clients filter on it and the query side facets on
/// it, so adding a variant is a schema change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sector {
    /// Trade and commerce.
    Trade,
    /// Energy production and supply.
    Energy,
    /// Defence and security.
    Defence,
    /// Education and training.
    Education,
    /// Culture and heritage.
    Culture,
    /// Tourism and travel.
    Tourism,
    /// Technology and the digital economy.
    Technology,
    /// Climate and the environment.
    Climate,
    /// Transport and connectivity.
    Transport,
    /// Investment, finance and the wider economy.
    Finance,
    /// Agriculture and food.
    Agriculture,
    /// Health and medicine.
    Health,
    /// Diplomacy and politics.
    Politics,
    /// Science and research.
    Science,
    /// Sport.
    Sport,
    /// Media and journalism.
    Media,
}

impl Sector {
    /// How many sectors there are: the length of per-sector arrays.
    pub const COUNT: usize = 16;

    /// Every sector, in declaration order (the order of indices in per-sector arrays).
    pub const ALL: [Sector; Sector::COUNT] = [
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

    /// Position in [`Sector::ALL`], so per-sector data can live in plain arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Stable lowercase identifier used on the wire, in data files and in label mappings.
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

    /// Human-readable name for user interfaces.
    pub fn label(self) -> &'static str {
        match self {
            Sector::Trade => "Trade & commerce",
            Sector::Energy => "Energy",
            Sector::Defence => "Defence & security",
            Sector::Education => "Education",
            Sector::Culture => "Culture & heritage",
            Sector::Tourism => "Tourism & travel",
            Sector::Technology => "Technology & digital",
            Sector::Climate => "Climate & environment",
            Sector::Transport => "Transport & connectivity",
            Sector::Finance => "Investment & finance",
            Sector::Agriculture => "Agriculture & food",
            Sector::Health => "Health",
            Sector::Politics => "Diplomacy & politics",
            Sector::Science => "Science & research",
            Sector::Sport => "Sport",
            Sector::Media => "Media & journalism",
        }
    }

    /// One sentence telling a user (or a labeller) what belongs in the sector.
    pub fn description(self) -> &'static str {
        match self {
            Sector::Trade => "Exports, imports, tariffs, trade agreements and the balance of trade between economies.",
            Sector::Energy => "Oil, gas, coal, electricity, nuclear and renewable power: production, prices, supply and infrastructure.",
            Sector::Defence => "Armed forces, military cooperation, weapons and defence industry, security and counter-terrorism.",
            Sector::Education => "Schools, universities, students, academic exchanges, scholarships and training.",
            Sector::Culture => "Arts, entertainment, film, music, heritage, festivals, religion and cultural exchange.",
            Sector::Tourism => "Tourism, travel, visitors, hotels, visas and the hospitality industry.",
            Sector::Technology => "Digital economy, computing, internet, telecoms, software, gadgets and technology companies.",
            Sector::Climate => "Climate change, emissions, environmental protection, pollution and natural disasters linked to them.",
            Sector::Transport => "Shipping, ports, rail, roads, aviation, logistics corridors and connectivity infrastructure.",
            Sector::Finance => "Investment, banking, company earnings and acquisitions, markets, currencies, interest rates and the wider economy.",
            Sector::Agriculture => "Farming, crops, livestock, commodities such as grain and sugar, food supply and food security.",
            Sector::Health => "Public health, medicine, hospitals, diseases, vaccines and the pharmaceutical industry.",
            Sector::Politics => "Government, elections, parties, parliaments, diplomacy, bilateral relations and international organisations.",
            Sector::Science => "Scientific research, discoveries, space, laboratories and research institutions.",
            Sector::Sport => "Sports competitions, teams, athletes, clubs and sporting events.",
            Sector::Media => "News media, journalism, broadcasting, publishing, press freedom and social media platforms.",
        }
    }

    /// IPTC Media Topic qcode (cv.iptc.org/newscodes/mediatopic) closest to the sector, so that
    /// archives classified with IPTC can be joined on our tags. Where IPTC has no exact match
    /// the nearest broader topic is used: trade -> "economy" (production, consumption and trade
    /// of countries as a whole), defence -> "conflict, war and peace".
    pub fn iptc_media_topic(self) -> &'static str {
        match self {
            Sector::Trade => "medtop:20000344",       // economy
            Sector::Energy => "medtop:20000256",      // energy and resource
            Sector::Defence => "medtop:16000000",     // conflict, war and peace
            Sector::Education => "medtop:05000000",   // education
            Sector::Culture => "medtop:20000038",     // culture
            Sector::Tourism => "medtop:20000331",     // tourism and leisure
            Sector::Technology => "medtop:20000225",  // computing and information technology
            Sector::Climate => "medtop:20000418",     // climate change
            Sector::Transport => "medtop:20000337",   // transport
            Sector::Finance => "medtop:04000000",     // economy, business and finance
            Sector::Agriculture => "medtop:20000210", // agriculture
            Sector::Health => "medtop:07000000",      // health
            Sector::Politics => "medtop:11000000",    // politics
            Sector::Science => "medtop:13000000",     // science and technology
            Sector::Sport => "medtop:15000000",       // sport
            Sector::Media => "medtop:20000045",       // mass media
        }
    }

    /// Parses a slug, a label-ish alias or a common synonym, ignoring case and surrounding
    /// whitespace, so that user queries and third-party label sets map onto the taxonomy.
    pub fn from_slug(s: &str) -> Option<Sector> {
        let key = s.trim().to_lowercase();
        let key = key.replace(['_', ' '], "-");
        let sector = match key.as_str() {
            "trade" | "commerce" | "exports" | "imports" | "trade-and-commerce" => Sector::Trade,
            "energy" | "oil" | "gas" | "power" | "oil-and-gas" => Sector::Energy,
            "defence"
            | "defense"
            | "security"
            | "military"
            | "defence-and-security"
            | "defense-and-security" => Sector::Defence,
            "education" | "schools" | "academia" | "higher-education" => Sector::Education,
            "culture" | "heritage" | "arts" | "entertainment" | "culture-and-heritage" => Sector::Culture,
            "tourism" | "travel" | "hospitality" | "tourism-and-travel" => Sector::Tourism,
            "technology" | "tech" | "digital" | "it" | "ict" | "technology-and-digital" => Sector::Technology,
            "climate" | "environment" | "climate-change" | "climate-and-environment" => Sector::Climate,
            "transport"
            | "transportation"
            | "connectivity"
            | "logistics"
            | "shipping"
            | "transport-and-connectivity" => Sector::Transport,
            "finance"
            | "investment"
            | "business"
            | "economy"
            | "banking"
            | "markets"
            | "investment-and-finance" => Sector::Finance,
            "agriculture" | "food" | "farming" | "agri" | "agriculture-and-food" => Sector::Agriculture,
            "health" | "healthcare" | "medicine" | "public-health" => Sector::Health,
            "politics" | "diplomacy" | "government" | "policy" | "diplomacy-and-politics" => Sector::Politics,
            "science" | "research" | "science-and-research" => Sector::Science,
            "sport" | "sports" => Sector::Sport,
            "media" | "press" | "journalism" | "news-media" | "media-and-journalism" => Sector::Media,
            _ => return None,
        };
        Some(sector)
    }
}

impl std::fmt::Display for Sector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.slug())
    }
}
