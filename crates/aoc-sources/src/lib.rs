//! Where AOC's records come from: `files` reads exports and dumps for `aoc import`; `m365`
//! collects from Microsoft Graph and the Office 365 Management Activity API. `telemetry` names
//! the metrics collection writes.

pub mod files;
pub mod m365;
pub mod telemetry;
