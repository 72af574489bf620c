//! Where AOC's records come from. `files` reads exports and dumps for `aoc import`; the
//! Microsoft 365 collectors (Graph, Management Activity API) join it as further modules.

pub mod files;
