#!/bin/sh
# Turn a --help text laid out as a manual page (stdin) into a troff man page
# (stdout), so the installed page and --help cannot disagree. The layout it reads:
#   - a line of capitals at the start of a line is a section title (.SH);
#   - NAME holds "program - summary" (becomes "program \- summary" for whatis);
#   - SYNOPSIS and EXAMPLES are kept line by line (no filling);
#   - OPTIONS, EXIT STATUS and ENVIRONMENT are lists: an entry is "TAG  text" (two
#     or more spaces apart) indented by at most 4, its text continues on lines
#     indented by 8 or more; a capitalised line indented by 2 is a subsection (.SS);
#   - any other section is running text, paragraphs split by blank lines.
# usage: sh tools/help-to-man.sh TITLE SECTION SOURCE < help.txt > page.SECTION
# (TITLE: the command name; SOURCE: e.g. "chainrule 0.1.0")
title=$1 section=$2 source=$3
awk -v title="$title" -v section="$section" -v source="$source" '
function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    if (s ~ /^[.'\'']/) s = "\\&" s
    return s
}
function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
function nofill(on) {
    if (on && !nf) print ".nf"
    if (!on && nf) print ".fi"
    nf = on
}
BEGIN {
    printf ".TH %s %s \"\" \"%s\" \"User Commands\"\n", toupper(title), section, source
    print ".nh"
}
/^[A-Z][A-Z ]*[A-Z]$/ {
    nofill(0)
    sec = $0
    printf ".SH %s\n", sec
    mode = (sec == "NAME") ? "name" : (sec == "SYNOPSIS" || sec == "EXAMPLES") ? "lines" : \
           (sec == "OPTIONS" || sec == "EXIT STATUS" || sec == "ENVIRONMENT") ? "list" : "text"
    para = 0
    blank = 0
    next
}
mode == "name" {
    if ($0 ~ /^ *$/) next
    print esc(trim($0))
    next
}
mode == "lines" {
    if ($0 ~ /^ *$/) { blank++; next }
    nofill(1)
    for (; blank > 0; blank--) print ""
    line = $0
    sub(/^    /, "", line)
    print esc(line)
    next
}
mode == "list" {
    if ($0 ~ /^ *$/) next
    if ($0 ~ /^        /) { print esc(trim($0)); next }
    if ($0 ~ /^  [A-Z]/ && $0 !~ /[^ ]  +[^ ]/) { printf ".SS %s\n", esc(trim($0)); next }
    line = trim($0)
    if (match(line, /  +/)) {
        printf ".TP\n\\fB%s\\fR\n%s\n", esc(substr(line, 1, RSTART - 1)),
               esc(substr(line, RSTART + RLENGTH))
    } else {
        printf ".TP\n\\fB%s\\fR\n", esc(line)
    }
    next
}
{   # running text
    if ($0 ~ /^ *$/) { para = 1; next }
    if (para) { print ".PP"; para = 0 }
    print esc(trim($0))
}
END { nofill(0) }
'
