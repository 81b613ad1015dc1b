//! The audit table's cells made short: a controller said once with its ids (consecutive ids as
//! a range), a reason said once with a count, controller names as long as needed to tell them
//! apart, and cells cut with `…` so a row fits a width.
//!
//! Owns: the text of the RESETS and VERDICT cells and the cutting of rows and footnotes. Must
//! not: change any record (JSON, JSONL and DOT read those, untouched).

use std::collections::HashMap;

use super::report::LineRecord;

/// A short, unambiguous name for each controller path: its last component, or the shortest
/// suffix of whole components no other controller in `paths` ends with.
pub fn controller_names<'a>(paths: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    let mut distinct: Vec<&str> = paths.into_iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let components: Vec<Vec<&str>> =
        distinct.iter().map(|p| p.split('/').filter(|c| !c.is_empty()).collect()).collect();
    let suffix = |c: &[&str], k: usize| c[c.len().saturating_sub(k)..].join("/");
    let mut names = HashMap::new();
    for (i, path) in distinct.iter().enumerate() {
        let mine = &components[i];
        let mut k = 1;
        while k < mine.len()
            && components
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other.len() >= k && suffix(other, k) == suffix(mine, k))
        {
            k += 1;
        }
        let name = if mine.is_empty() { path.to_string() } else { suffix(mine, k) };
        names.insert(path.to_string(), name);
    }
    names
}

/// The RESETS cell: each controller once, in the order it first appears, with its ids; single
/// ids sorted and consecutive ones as `a-b`, ids of several cells as written (`1 2`).
pub fn resets_cell(lines: &[LineRecord<'_>], names: &HashMap<String, String>) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut ids: HashMap<&str, (Vec<u32>, Vec<String>)> = HashMap::new();
    for l in lines {
        let controller: &str = &l.controller;
        let entry = ids.entry(controller).or_insert_with(|| {
            order.push(controller);
            (Vec::new(), Vec::new())
        });
        match &l.args[..] {
            [] => {}
            [one] => entry.0.push(*one),
            many => entry.1.push(many.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")),
        }
    }
    order
        .iter()
        .map(|c| {
            let name = names.get(*c).cloned().unwrap_or_else(|| c.to_string());
            let (single, multi) = &ids[c];
            let mut said = ranges(single);
            let mut seen = std::collections::HashSet::new();
            said.extend(multi.iter().filter(|m| seen.insert(m.as_str())).cloned());
            if said.is_empty() {
                name
            } else {
                format!("{name} {}", said.join(","))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `ids` sorted, without repeats, runs of consecutive ids as `a-b`.
pub fn ranges(ids: &[u32]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut end = start;
        while i + 1 < ids.len() && ids[i + 1] == end + 1 {
            i += 1;
            end = ids[i];
        }
        out.push(if end == start { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    out
}

/// Reasons each said once, in the order first given, a repeated one with its count (`×3`).
pub fn counted(reasons: &[&str]) -> String {
    let mut order: Vec<(&str, usize)> = Vec::new();
    for r in reasons {
        match order.iter_mut().find(|(seen, _)| seen == r) {
            Some((_, n)) => *n += 1,
            None => order.push((r, 1)),
        }
    }
    order
        .iter()
        .map(|(r, n)| if *n > 1 { format!("{r} ×{n}") } else { r.to_string() })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Shortest a cut column gets (in characters, `…` included).
const MIN_CUT: usize = 8;

/// How narrow the VERDICT column gets before any other is cut: its start says the most.
const VERDICT_FIRST: usize = 30;

/// The width each column may take so that a row (a space before the first cell, a space
/// between cells) fits `width`: the last column (VERDICT) narrowed first, to
/// [`VERDICT_FIRST`]; then the widest of `cuttable` (NODE, RESETS, VERDICT) a character at a
/// time until the row fits or none is wider than [`MIN_CUT`].
pub fn fit_columns(widths: &[usize], cuttable: &[usize], width: usize) -> Vec<usize> {
    let mut caps = widths.to_vec();
    let total = |caps: &[usize]| 1 + caps.iter().map(|w| w + 1).sum::<usize>();
    if let Some(last) = caps.last_mut() {
        let over = (1 + widths.iter().map(|w| w + 1).sum::<usize>()).saturating_sub(width);
        *last = (*last).saturating_sub(over).max(VERDICT_FIRST.min(*last));
    }
    while total(&caps) > width {
        let Some(&widest) = cuttable.iter().filter(|&&i| caps[i] > MIN_CUT).max_by_key(|&&i| (caps[i], i))
        else {
            break;
        };
        caps[widest] -= 1;
    }
    caps
}

/// `s` cut to `width` characters, the last of them `…` when anything was cut.
pub fn cut(s: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if s.chars().count() <= width {
        return s.into();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out.into()
}

/// A footnote fitted to `width`: broken at spaces into lines, the later ones indented by
/// `indent` spaces, and any piece still too wide cut.
pub fn wrap(line: &str, indent: usize, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let pieces: Vec<&str> = line.split_inclusive(' ').collect();
    for piece in pieces {
        let piece_width = piece.trim_end().chars().count();
        let candidate = current.chars().count() + piece_width;
        // A piece too wide for any line stays where it is and is cut there.
        if !current.trim().is_empty() && candidate > width && indent + piece_width <= width {
            lines.push(current.trim_end().to_string());
            current = " ".repeat(indent);
        }
        current.push_str(piece);
        if current.trim_end().chars().count() > width {
            lines.push(current.trim_end().to_string());
            current = " ".repeat(indent);
        }
    }
    if !current.trim().is_empty() {
        lines.push(current.trim_end().to_string());
    }
    lines.into_iter().map(|l| cut(&l, width).into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_ids_are_a_range() {
        assert_eq!(ranges(&[704, 703, 1, 3, 4, 5, 9]), ["1", "3-5", "9", "703-704"]);
    }

    #[test]
    fn a_reason_is_said_once_with_its_count() {
        assert_eq!(counted(&["shared", "no iommu", "shared", "shared"]), "shared ×3, no iommu");
    }

    #[test]
    fn names_are_the_shortest_unique_suffix() {
        let names = controller_names(["/soc/a/clock@1", "/soc/b/clock@1", "/soc/reset@2", "/soc/b/clock@1"]);
        assert_eq!(names["/soc/a/clock@1"], "a/clock@1");
        assert_eq!(names["/soc/b/clock@1"], "b/clock@1");
        assert_eq!(names["/soc/reset@2"], "reset@2");
        // A path that is a suffix of another is said whole.
        let names = controller_names(["/x/clock", "/clock"]);
        assert_eq!(names["/clock"], "clock");
        assert_eq!(names["/x/clock"], "x/clock");
    }

    #[test]
    fn the_widest_column_is_cut_first() {
        // 1 + (10+1) + (5+1) + (40+1) = 59 > 30: the 40 narrows to 11, the 10 untouched.
        assert_eq!(fit_columns(&[10, 5, 40], &[0, 2], 30), [10, 5, 11]);
        // Narrower still, the two cuttable columns narrow together, never below 8.
        assert_eq!(fit_columns(&[10, 5, 40], &[0, 2], 20), [8, 5, 8]);
        // The last column (VERDICT) goes first, down to 30, before a wider NODE is touched.
        assert_eq!(fit_columns(&[40, 5, 50], &[0, 2], 90), [40, 5, 41]);
        assert_eq!(fit_columns(&[40, 5, 50], &[0, 2], 70), [31, 5, 30]);
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn footnotes_wrap_at_spaces() {
        let lines = wrap("  * /a shares a line with /bbbb, /cccc, /dddd", 4, 30);
        assert_eq!(lines, ["  * /a shares a line with", "    /bbbb, /cccc, /dddd"]);
        assert_eq!(wrap("  * /a-very-long-path-indeed-it-is x", 4, 20), ["  * /a-very-long-pa…", "    x"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 30));
    }
}
