pub mod dedupe;
pub mod import;
pub mod migrate;
pub mod serve;
