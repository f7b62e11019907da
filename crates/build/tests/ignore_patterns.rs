//! `.dockerignore` matching, checked against the cases of moby/patternmatcher's
//! own test table and Go's `filepath.Match` table (cases rewritten here).

use wharf_build::ignore::{clean, go_match, read_all, BadPattern, IgnoreRules};

fn excluded(patterns: &[&str], path: &str) -> bool {
    IgnoreRules::from_patterns(patterns)
        .unwrap()
        .is_excluded(path)
}

#[test]
fn ignore_single_pattern_table() {
    // (pattern, path, matches the path or one of its parents)
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\\\", "a\\", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "axb", false),
        // A directory pattern excludes what is below it.
        ("docs", "docs/README.md", true),
        ("docs/", "docs/README.md", true),
        ("docs/*", "docs/README.md", true),
        ("*.go", "fileutils.go", true),
        ("*", "fileutils.go", true),
    ];
    for (pattern, path, want) in cases {
        assert_eq!(
            excluded(&[pattern], path),
            *want,
            "pattern {pattern:?} path {path:?}"
        );
    }
}

#[test]
fn ignore_multi_pattern_table() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0-py3-none-any.whl",
            false,
        ),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md"], "docs/other.md", true),
    ];
    for (patterns, path, want) in cases {
        assert_eq!(excluded(patterns, path), *want, "{patterns:?} {path:?}");
    }
}

#[test]
fn ignore_context_root_never_excluded() {
    assert!(!excluded(&["*.go"], "."));
    assert!(!excluded(&["**"], "."));
    assert!(!excluded(&[], "any/path/there"));
}

#[test]
fn ignore_bad_patterns_are_errors() {
    for bad in [
        "[", "!", "[^", "[^bc", "a[", "\\", "[]a]", "[-]", "[x-]", "[-x]", "[a-b-c]",
    ] {
        assert!(IgnoreRules::from_patterns([bad]).is_err(), "{bad:?}");
    }
}

#[test]
fn ignore_go_filepath_match_table() {
    let cases: &[(&str, &str, bool)] = &[
        ("abc", "abc", true),
        ("*", "abc", true),
        ("*c", "abc", true),
        ("a*", "a", true),
        ("a*", "abc", true),
        ("a*", "ab/c", false),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true),
        ("ab[e-g]", "abc", false),
        ("ab[^c]", "abc", false),
        ("ab[^b-d]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("a?b", "a\u{263a}b", true),
        ("a[^a]b", "a\u{263a}b", true),
        ("a???b", "a\u{263a}b", false),
        ("[a-\u{3b6}]*", "\u{3b1}", true),
        ("*[a-\u{3b6}]", "A", false),
        ("a?b", "a/b", false),
        ("a*b", "a/b", false),
        ("[\\]a]", "]", true),
        ("[\\-]", "-", true),
        ("[x\\-]", "x", true),
        ("[x\\-]", "-", true),
        ("[x\\-]", "z", false),
        ("[\\-x]", "x", true),
        ("[\\-x]", "-", true),
        ("[\\-x]", "a", false),
        ("*x", "xxx", true),
    ];
    for (pattern, name, want) in cases {
        assert_eq!(go_match(pattern, name), Ok(*want), "{pattern:?} {name:?}");
    }
    for bad in [
        "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[",
    ] {
        assert_eq!(go_match(bad, "a"), Err(BadPattern), "{bad:?}");
    }
}

#[test]
fn ignore_read_all_cleans_lines() {
    let text =
        "\u{feff}# comment\n\n  /abs/path/  \n!  /keep/../kept\n a/./b//c \r\n #not a comment\n!\n";
    assert_eq!(
        read_all(text),
        vec!["abs/path", "!kept", "a/b/c", "#not a comment", "!"]
    );
    assert!(IgnoreRules::parse(text).is_err(), "a lone ! is an error");
}

#[test]
fn ignore_clean_like_go() {
    for (input, want) in [
        ("", "."),
        ("a/b/../c", "a/c"),
        ("../a", "../a"),
        ("/../a", "/a"),
        ("a/../..", ".."),
        ("./", "."),
        ("/", "/"),
        ("a//b/./c/", "a/b/c"),
    ] {
        assert_eq!(clean(input), want, "{input:?}");
    }
}

#[test]
fn ignore_exception_opens_directory_textually() {
    let rules = IgnoreRules::from_patterns(["dir", "!dir/keep", "other", "!**/x"]).unwrap();
    assert!(rules.is_excluded("dir"));
    assert!(rules.may_include_below("dir"));
    assert!(rules.is_visible("dir", true));
    assert!(!rules.is_visible("dir", false));
    assert!(!rules.is_excluded("dir/keep"));
    assert!(rules.is_excluded("dir/drop"));
    // Docker only opens a directory for an exception that names it.
    assert!(!rules.may_include_below("other"));
    assert!(!rules.is_visible("other", true));
}
