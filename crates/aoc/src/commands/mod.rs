pub mod dedupe;
pub mod fetch;
pub mod import;
pub mod migrate;
pub mod serve;
pub mod simulate;
pub mod worker;
