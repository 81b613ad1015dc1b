//! What the build scripts of `platreset-reset` (the reset maps) and `platreset-policy` (the
//! kernel-driver evidence) share: a JSON data file read into [`Obj`]s that know where they are,
//! so that every missing field or wrong type fails the build naming the file and the entry
//! (`reset-maps/qcom-gcc.json: tables[3] (gcc_sdm845_resets): missing field `id``), and the
//! helper that writes a string list as Rust source.
//!
//! Owns: reading and type-checking JSON values. Must not: know what the files mean (each build
//! script checks its own facts) or write anything but text for the caller.

use std::path::Path;

use serde_json::{Map, Value};

/// A build script's result: the error is the message the build fails with.
pub type Result<T> = std::result::Result<T, String>;

/// A data file's top-level object, named `<directory>/<file>` in errors (`evidence/…`,
/// `reset-maps/…`); its array entries are named after their `label` field (`name`, `driver`).
pub fn load(dir: &Path, file: &str, label: &'static str) -> Result<Obj> {
    let path = dir.join(file);
    println!("cargo:rerun-if-changed={}", path.display());
    let folder = dir.file_name().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let at = format!("{folder}/{file}");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{at}: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{at}: {e}"))?;
    Obj::new(&value, at, label)
}

/// `list` as the Rust source of a `&[&str]`.
pub fn strs(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|s| format!("{s:?}")).collect();
    format!("&[{}]", quoted.join(", "))
}

/// A JSON object and where it is (`reset-maps/qcom-gcc.json: tables[3] (gcc_sdm845_resets)`).
pub struct Obj {
    /// Its fields.
    pub map: Map<String, Value>,
    /// Where it is, for errors.
    pub at: String,
    /// The field that names an entry of its arrays in errors.
    label: &'static str,
}

impl Obj {
    /// `value` as an object at `at`; an error when it is none.
    pub fn new(value: &Value, at: String, label: &'static str) -> Result<Obj> {
        match value {
            Value::Object(map) => Ok(Obj { map: map.clone(), at, label }),
            _ => Err(format!("{at}: not an object")),
        }
    }

    /// The error `why`, at this object.
    pub fn fail<T>(&self, why: impl std::fmt::Display) -> Result<T> {
        Err(format!("{}: {why}", self.at))
    }

    /// Whether the field is there and not null.
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The field, which must be there.
    pub fn get(&self, key: &str) -> Result<&Value> {
        match self.map.get(key) {
            Some(v) => Ok(v),
            None => self.fail(format!("missing field `{key}`")),
        }
    }

    /// An object field, named `<at>: <key>`.
    pub fn object(&self, key: &str) -> Result<Obj> {
        Obj::new(self.get(key)?, format!("{}: {key}", self.at), self.label)
    }

    /// An unsigned integer field.
    pub fn u64(&self, key: &str) -> Result<u64> {
        match self.get(key)?.as_u64() {
            Some(n) => Ok(n),
            None => self.fail(format!("`{key}` is not an unsigned integer")),
        }
    }

    /// An unsigned integer field of 32 bits.
    pub fn u32(&self, key: &str) -> Result<u32> {
        match u32::try_from(self.u64(key)?) {
            Ok(n) => Ok(n),
            Err(_) => self.fail(format!("`{key}` does not fit 32 bits")),
        }
    }

    /// [`Obj::u32`], or `None` when the field is absent or null.
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        if self.has(key) {
            self.u32(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// [`Obj::u64`], or `None` when the field is absent or null.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        if self.has(key) {
            self.u64(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A boolean field.
    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.get(key)?.as_bool() {
            Some(b) => Ok(b),
            None => self.fail(format!("`{key}` is not a boolean")),
        }
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Result<String> {
        match self.get(key)?.as_str() {
            Some(s) => Ok(s.to_string()),
            None => self.fail(format!("`{key}` is not a string")),
        }
    }

    /// [`Obj::str`], or `None` when the field is absent or null.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>> {
        if self.has(key) {
            self.str(key).map(Some)
        } else {
            Ok(None)
        }
    }

    /// An array field.
    pub fn array(&self, key: &str) -> Result<&Vec<Value>> {
        match self.get(key)?.as_array() {
            Some(a) => Ok(a),
            None => self.fail(format!("`{key}` is not an array")),
        }
    }

    /// An array field of strings.
    pub fn strs(&self, key: &str) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for v in self.array(key)? {
            match v.as_str() {
                Some(s) => found.push(s.to_string()),
                None => return self.fail(format!("`{key}` holds a value that is not a string")),
            }
        }
        Ok(found)
    }

    /// An array field of unsigned integers.
    pub fn u64s(&self, key: &str) -> Result<Vec<u64>> {
        let mut found = Vec::new();
        for v in self.array(key)? {
            match v.as_u64() {
                Some(n) => found.push(n),
                None => return self.fail(format!("`{key}` holds a value that is not an unsigned integer")),
            }
        }
        Ok(found)
    }

    /// An array field of 32-bit unsigned integers.
    pub fn u32s(&self, key: &str) -> Result<Vec<u32>> {
        let mut found = Vec::new();
        for v in self.array(key)? {
            match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => found.push(n),
                None => {
                    return self.fail(format!("`{key}` holds a value that is not a 32-bit unsigned integer"))
                }
            }
        }
        Ok(found)
    }

    /// The objects of an array field, each named `key[i]`, with its label field when it has one.
    pub fn objects(&self, key: &str) -> Result<Vec<Obj>> {
        let mut found = Vec::new();
        for (i, v) in self.array(key)?.iter().enumerate() {
            let name =
                v.get(self.label).and_then(Value::as_str).map(|n| format!(" ({n})")).unwrap_or_default();
            found.push(Obj::new(v, format!("{}: {key}[{i}]{name}", self.at), self.label)?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn doc(text: &str) -> Obj {
        Obj::new(&serde_json::from_str(text).unwrap(), "maps/x.json".into(), "name").unwrap()
    }

    #[test]
    fn every_error_names_the_file_the_entry_and_the_field() {
        let d = doc(r#"{"tables": [{"name": "t0", "id": 1}, {"name": "t1", "id": "two"}], "n": 4294967296}"#);
        let tables = d.objects("tables").unwrap();
        assert_eq!(tables[0].u32("id"), Ok(1));
        assert_eq!(
            tables[1].u32("id").unwrap_err(),
            "maps/x.json: tables[1] (t1): `id` is not an unsigned integer"
        );
        assert_eq!(tables[0].str("bits").unwrap_err(), "maps/x.json: tables[0] (t0): missing field `bits`");
        assert_eq!(d.u32("n").unwrap_err(), "maps/x.json: `n` does not fit 32 bits");
        assert_eq!(d.opt_u32("absent"), Ok(None));
        assert_eq!(Obj::new(&Value::Null, "here".into(), "name").err().unwrap(), "here: not an object");
    }

    #[test]
    fn number_lists_say_which_width_they_need() {
        let d = doc(r#"{"wide": [1, 4294967296], "text": [1, "a"]}"#);
        assert_eq!(d.u64s("wide"), Ok(vec![1, 4_294_967_296]));
        assert_eq!(
            d.u32s("wide").unwrap_err(),
            "maps/x.json: `wide` holds a value that is not a 32-bit unsigned integer"
        );
        assert_eq!(d.strs("text").unwrap_err(), "maps/x.json: `text` holds a value that is not a string");
        assert_eq!(strs(&["a".into(), "b\"".into()]), r#"&["a", "b\""]"#);
    }
}
