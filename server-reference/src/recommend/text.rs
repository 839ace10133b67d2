//! Bio similarity: cosine of TF-IDF vectors, with BM25's saturating term frequency.
//!
//! The `bm25` crate does the language work (Unicode word split, English stop words, Snowball
//! stemming, hashed token ids) and the term-frequency part, `tf × (k1 + 1) / (tf + k1 × (1 − b +
//! b × len / avgdl))` with k1 = 1.2, b = 0.75, so a word repeated ten times does not drown the
//! rest and long bios are not favoured. We add the inverse document frequency over the whole
//! population, `idf = ln((N + 1) / (df + 1)) + 1` (smoothed, so unseen words still count), and
//! L2-normalise: the similarity of two bios is the dot product of their vectors, in 0..1.
//!
//! # Staleness and refits
//! Token ids are hashes, so a word the model has never seen still gets an id, and with df = 0
//! the largest IDF: a new or edited bio is scored with every word it contains at once, never
//! silently without them. What goes stale as bios change is the document frequencies (a word
//! that has become rare still weighs as common) and the average length. So the model is
//! refitted: [`BioRefit::build`] fits a new model and vectorises every bio off the request path
//! (on a blocking thread, from a snapshot), and the recommender swaps it in
//! (`Recommender::install_bio_refit`), re-vectorising only the bios edited meanwhile. The live
//! server refits when enough bios changed since the last fit (see
//! `recommendations::live::BIO_REFIT_DRIFT`), and on every full reload.

use std::collections::HashMap;

use bm25::{Embedder, EmbedderBuilder, Language};

use super::model::MemberId;

/// A bio as a unit-length sparse vector, sorted by token id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BioVector(Vec<(u32, f32)>);

impl BioVector {
    /// True for an empty (or stop-word-only) bio.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The tokenizer and document frequencies fitted to a population's bios.
#[derive(Debug)]
pub struct BioModel {
    embedder: Embedder,
    df: HashMap<u32, u32>,
    docs: usize,
}

impl BioModel {
    /// Fits the model to every bio in the population.
    pub fn fit(bios: &[&str]) -> Self {
        let embedder = EmbedderBuilder::with_fit_to_corpus(Language::English, bios).build();
        let mut df: HashMap<u32, u32> = HashMap::new();
        for bio in bios {
            for (token, _) in Self::term_weights(&embedder, bio) {
                *df.entry(token).or_default() += 1;
            }
        }
        BioModel {
            embedder,
            df,
            docs: bios.len(),
        }
    }

    /// One (token, saturated tf) per distinct token, sorted by token.
    fn term_weights(embedder: &Embedder, text: &str) -> Vec<(u32, f32)> {
        // The embedder emits one entry per occurrence (same value for repeats): keep one.
        let mut terms: Vec<(u32, f32)> = embedder
            .embed(text)
            .iter()
            .map(|t| (t.index, t.value))
            .collect();
        terms.sort_by_key(|&(i, _)| i);
        terms.dedup_by_key(|&mut (i, _)| i);
        terms
    }

    /// The bio's TF-IDF vector.
    pub fn vector(&self, bio: &str) -> BioVector {
        let n = self.docs as f64;
        let mut terms = Self::term_weights(&self.embedder, bio);
        for (token, w) in &mut terms {
            let df = f64::from(self.df.get(token).copied().unwrap_or(0));
            *w *= (((n + 1.0) / (df + 1.0)).ln() + 1.0) as f32;
        }
        let norm = terms.iter().map(|&(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            terms.iter_mut().for_each(|(_, w)| *w /= norm);
        } else {
            terms.clear();
        }
        BioVector(terms)
    }
}

/// A model fitted to a snapshot of the population's bios, with each bio's vector under it.
#[derive(Debug)]
pub struct BioRefit {
    pub(super) model: BioModel,
    /// Per member: the bio as it was in the snapshot, and its vector.
    pub(super) vectors: HashMap<MemberId, (String, BioVector)>,
}

impl BioRefit {
    /// Fits a model to `bios` and vectorises each (CPU work: run it off the request path).
    pub fn build(bios: Vec<(MemberId, String)>) -> Self {
        let texts: Vec<&str> = bios.iter().map(|(_, b)| b.as_str()).collect();
        let model = BioModel::fit(&texts);
        let vectors = bios
            .into_iter()
            .map(|(id, bio)| {
                let v = model.vector(&bio);
                (id, (bio, v))
            })
            .collect();
        BioRefit { model, vectors }
    }
}

/// Cosine similarity of two bio vectors (both unit length): 0 (nothing shared) to 1 (same words
/// in the same proportions).
pub fn cosine(a: &BioVector, b: &BioVector) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0f64);
    while i < a.0.len() && j < b.0.len() {
        match a.0[i].0.cmp(&b.0[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += f64::from(a.0[i].1) * f64::from(b.0[j].1);
                i += 1;
                j += 1;
            }
        }
    }
    dot.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_bios_are_closer_than_unrelated_ones() {
        let bios = [
            "Jazz pianist, bebop and modal jazz, love Coltrane and Monk",
            "I play jazz drums, mostly bebop standards and modal tunes",
            "Metal guitarist: thrash riffs, blast beats, loud amps",
            "Folk singer with an acoustic guitar, songs about the sea",
            "",
        ];
        let model = BioModel::fit(&bios);
        let v: Vec<BioVector> = bios.iter().map(|b| model.vector(b)).collect();
        let (jazz, metal) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
        assert!(jazz > 0.2, "{jazz}");
        assert!(jazz > metal + 0.1, "{jazz} vs {metal}");
        // Self-similarity is 1, symmetry holds, empty bios share nothing.
        assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-5);
        assert_eq!(cosine(&v[0], &v[1]), cosine(&v[1], &v[0]));
        assert!(v[4].is_empty());
        assert_eq!(cosine(&v[4], &v[0]), 0.0);
    }

    #[test]
    fn stemming_matches_word_forms() {
        let bios = ["drummer drumming", "drums", "violin"];
        let model = BioModel::fit(&bios);
        // "drumming" and "drums" both stem to "drum".
        let s = cosine(&model.vector("drumming"), &model.vector("the drums"));
        assert!(s > 0.99, "{s}");
    }
}
