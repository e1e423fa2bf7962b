//! Markdown markup shared by the report and the comparison: escaping for
//! table cells and table headers, so both write tables the same way.

/// Text on one line, its runs of white space folded to one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text fit for a Markdown table cell: one line, `|` escaped.
pub fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// A table's header and separator lines, every column left-aligned.
pub fn header(columns: &[&str]) -> String {
    let mut s = format!("| {} |\n|", columns.join(" | "));
    s.push_str(&"---|".repeat(columns.len()));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_one_line_and_escaped() {
        assert_eq!(cell("a |  b\n c"), "a \\| b c");
        assert_eq!(header(&["", "x"]), "|  | x |\n|---|---|\n");
    }
}
