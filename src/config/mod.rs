//! keepalived.conf front end: preprocessor and lexer (`lexer`), parser to a syntax tree with
//! spans (`parser`, `ast`), one semantic pass (`semantic`) that builds the typed model
//! (`model`), and diagnostics (`diag`).

pub mod ast;
pub mod diag;
pub mod model;
pub mod semantic;
pub mod values;
pub mod lexer;
pub mod parser;
pub use lexer::LoadOptions;
pub use parser::{load_file, parse_str};
