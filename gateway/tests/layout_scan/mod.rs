//! The scanner behind `source_layout`: Rust source read as text, enough for rustfmt-formatted
//! code. [`mask`] blanks comments and literals, [`items`] finds functions and test code,
//! [`imports`] builds the module graph from `crate::` paths.

pub mod imports;
pub mod items;
pub mod mask;
