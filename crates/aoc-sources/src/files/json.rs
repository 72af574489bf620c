//! NDJSON, JSON arrays and Graph pages, streamed.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Item, Position, RawRecord};

/// One record per line; a bad line is reported and the next one read.
pub fn read_ndjson(
    mut reader: impl BufRead,
    each: &mut dyn FnMut(Item) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        line_no += 1;
        let mut line = buf.as_slice();
        if line_no == 1 {
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice::<Value>(line)
            .map(RawRecord::Json)
            .map_err(|e| format!("not JSON: {e}"));
        if each(Item {
            position: Position::Line(line_no),
            record,
        })
        .is_break()
        {
            return Ok(());
        }
    }
}

/// A JSON array, or an object whose `value` is one (a Graph page); an object without `value`
/// is one record. A syntax error ends the file: nothing after it can be located reliably.
pub fn read_json(reader: impl Read, each: &mut dyn FnMut(Item) -> ControlFlow<()>) {
    let mut reader = reader;
    // Skip a UTF-8 BOM, which serde_json does not accept.
    let mut head = [0u8; 3];
    let mut filled = 0;
    while filled < 3 {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = each(Item {
                    position: Position::Record(1),
                    record: Err(format!("cannot read: {e}")),
                });
                return;
            }
        }
    }
    let head = if head[..filled] == *"\u{feff}".as_bytes() {
        &head[..0]
    } else {
        &head[..filled]
    };
    let chained = io::Read::chain(head, reader);
    let mut de = serde_json::Deserializer::from_reader(chained);
    let mut state = Emitter {
        each,
        count: 0,
        stopped: false,
    };
    let outcome = (&mut de).deserialize_any(TopLevel { state: &mut state });
    let outcome = outcome.and_then(|()| if state.stopped { Ok(()) } else { de.end() });
    if let Err(e) = outcome
        && !state.stopped
    {
        let position = Position::Record(state.count + 1);
        let _ = (state.each)(Item {
            position,
            record: Err(format!("invalid JSON, reading stopped here: {e}")),
        });
    }
}

struct Emitter<'a> {
    each: &'a mut dyn FnMut(Item) -> ControlFlow<()>,
    count: u64,
    stopped: bool,
}

impl Emitter<'_> {
    fn emit(&mut self, value: Value) {
        self.count += 1;
        let item = Item {
            position: Position::Record(self.count),
            record: Ok(RawRecord::Json(value)),
        };
        if (self.each)(item).is_break() {
            self.stopped = true;
        }
    }
}

struct TopLevel<'a, 'b> {
    state: &'a mut Emitter<'b>,
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of records or an object with a `value` array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Records { state: self.state }.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut other = serde_json::Map::new();
        let mut saw_value = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" && !saw_value {
                saw_value = true;
                map.next_value_seed(RecordsSeed {
                    state: &mut *self.state,
                })?;
            } else if saw_value {
                map.next_value::<IgnoredAny>()?;
            } else {
                other.insert(key, map.next_value::<Value>()?);
            }
        }
        if !saw_value && !self.state.stopped {
            self.state.emit(Value::Object(other));
        }
        Ok(())
    }
}

struct RecordsSeed<'a, 'b> {
    state: &'a mut Emitter<'b>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(Records { state: self.state })
    }
}

struct Records<'a, 'b> {
    state: &'a mut Emitter<'b>,
}

impl<'de> Visitor<'de> for Records<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.state.emit(value);
            if self.state.stopped {
                // Stop parsing: the rest of a large file is not wanted.
                return Err(de::Error::custom("reading stopped"));
            }
        }
        Ok(())
    }
}
