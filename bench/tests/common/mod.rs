//! The shared data folder for the corpus tests, with the project's one skip
//! rule (`sectorwire_domain::testdata`).
#![allow(dead_code)]

pub use sectorwire_domain::testdata::shared;
