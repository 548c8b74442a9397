//! Containers: decide gzip / zip / zlib / plain XML by magic bytes and stream
//! the XML documents out of them, bounded by [`Limits`] before memory is spent.

use std::io::{BufRead, Read};

/// Bounds against decompression bombs. All checks happen while streaming.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest compressed input (a .gz/.zip file or attachment), in bytes.
    pub max_compressed_bytes: u64,
    /// Largest XML document after decompression, in bytes.
    pub max_xml_bytes: u64,
    /// Most members read from one zip archive.
    pub max_zip_members: usize,
    /// Deepest nesting of containers (gzip in zip in gzip ...).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_compressed_bytes: 25 * 1024 * 1024,
            max_xml_bytes: 500 * 1024 * 1024,
            max_zip_members: 1000,
            max_depth: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("TODO")]
    Todo,
}

/// One decompressed document handed to the caller.
pub struct Document<'a> {
    /// Where it came from inside the input: "" for the input itself, else e.g. "report.zip:a.xml".
    pub name: &'a str,
    pub reader: &'a mut dyn BufRead,
}

/// Sniff `input` and call `f` once per XML document it holds.
pub fn for_each_document<E: From<UnpackError>>(
    _input: &mut dyn Read,
    _limits: &Limits,
    _f: &mut dyn FnMut(Document<'_>) -> Result<(), E>,
) -> Result<usize, E> {
    Err(UnpackError::Todo.into())
}
