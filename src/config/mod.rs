//! keepalived.conf front end: preprocessor and lexer (`lexer`), parser to a syntax tree with
//! spans (`parser`, `ast`), one semantic pass (`semantic`) that builds the typed model
//! (`model`), and diagnostics (`diag`).

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod model;
pub mod parser;
pub(crate) mod preprocess;
pub mod semantic;
pub mod values;
pub use lexer::{split_script_argv, LoadOptions};
pub use parser::{load_file, parse_bytes, parse_str};
