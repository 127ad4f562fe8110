//! Rendering results: diffs, findings and notes.

pub mod diff;
pub mod explain;
pub mod frame;
pub mod github;
pub mod json;
pub mod markdown;
pub mod notes;
pub mod project;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

/// serde_json's pretty layout (two spaces a level) for a value that sits
/// `level` levels deep in a document: the JSON and SARIF reports write each
/// file's part straight to the output, where it goes in the document,
/// rather than building the whole document first.
pub struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    pub fn at(level: usize) -> Self {
        Pretty {
            level,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` pretty-printed as it is laid out `level` levels deep.
pub fn write_pretty<W: Write, T: serde::Serialize + ?Sized>(
    w: &mut W,
    value: &T,
    level: usize,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Pretty::at(level));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// Writes the members of a pretty-printed array `level` levels deep one by
/// one: `[`, then each member, then `]` as serde_json lays them out.
pub struct PrettySeq {
    level: usize,
    empty: bool,
}

impl PrettySeq {
    pub fn start(w: &mut impl Write, level: usize) -> io::Result<Self> {
        w.write_all(b"[")?;
        Ok(PrettySeq { level, empty: true })
    }

    /// Members that follow others already written elsewhere: each after
    /// a comma, with no `[` (and no `]`: the array is ended where it began).
    pub fn continued(level: usize) -> Self {
        PrettySeq {
            level,
            empty: false,
        }
    }

    pub fn item<T: serde::Serialize + ?Sized>(
        &mut self,
        w: &mut impl Write,
        value: &T,
    ) -> io::Result<()> {
        w.write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        Pretty::at(self.level + 1).indent(w)?;
        write_pretty(w, value, self.level + 1)
    }

    /// A member written by `f`, as it is laid out `level + 1` deep.
    pub fn item_with<W: Write>(
        &mut self,
        w: &mut W,
        f: impl FnOnce(&mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        w.write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        Pretty::at(self.level + 1).indent(w)?;
        f(w)
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }

    pub fn end(self, w: &mut impl Write) -> io::Result<()> {
        if !self.empty {
            w.write_all(b"\n")?;
            Pretty::at(self.level).indent(w)?;
        }
        w.write_all(b"]")
    }
}

/// Writes the entries of a pretty-printed object `level` levels deep one
/// by one, as serde_json lays them out: for an object some of whose
/// values are written in pieces.
pub struct PrettyMap {
    level: usize,
    empty: bool,
}

impl PrettyMap {
    pub fn start(w: &mut impl Write, level: usize) -> io::Result<Self> {
        w.write_all(b"{")?;
        Ok(PrettyMap { level, empty: true })
    }

    /// The next key; its value follows, laid out `level + 1` deep.
    pub fn key(&mut self, w: &mut impl Write, key: &str) -> io::Result<()> {
        w.write_all(if self.empty { b"\n" } else { b",\n" })?;
        self.empty = false;
        Pretty::at(self.level + 1).indent(w)?;
        write_pretty(w, key, self.level + 1)?;
        w.write_all(b": ")
    }

    pub fn entry<T: serde::Serialize + ?Sized>(
        &mut self,
        w: &mut impl Write,
        key: &str,
        value: &T,
    ) -> io::Result<()> {
        self.key(w, key)?;
        write_pretty(w, value, self.level + 1)
    }

    pub fn end(self, w: &mut impl Write) -> io::Result<()> {
        if !self.empty {
            w.write_all(b"\n")?;
            Pretty::at(self.level).indent(w)?;
        }
        w.write_all(b"}")
    }
}

/// A JSON document pretty-printed, with a final newline (the small
/// documents built whole: the project model).
pub fn pretty_json(doc: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
