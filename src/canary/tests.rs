use super::*;

/// The text with the canary inserted, re-checked.
fn fixed(lang: Lang, text: &str) -> String {
    let placed = insert(lang, text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(placed.edits.iter().all(Edit::is_insertion));
    let new = crate::edit::apply(text, &placed.edits).expect("no overlap");
    recheck(lang, text, &new).unwrap_or_else(|e| panic!("{e}\n{new}"));
    new
}

/// The lines of `new` before its marker line.
fn before_marker(new: &str) -> Vec<&str> {
    new.lines().take_while(|l| !l.contains(MARKER)).collect()
}

#[test]
fn python_goes_after_shebang_encoding_docstring_and_future_imports() {
    let text = "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\"\"\"Billing worker.\n\nPolls the queue.\n\"\"\"\nfrom __future__ import annotations\nfrom __future__ import (\n    division,\n)\n\nimport os\n";
    let new = fixed(Lang::Python, text);
    assert_eq!(
        before_marker(&new),
        [
            "#!/usr/bin/env python3",
            "# -*- coding: utf-8 -*-",
            "\"\"\"Billing worker.",
            "",
            "Polls the queue.",
            "\"\"\"",
            "from __future__ import annotations",
            "from __future__ import (",
            "    division,",
            ")",
            "",
        ]
    );
    assert!(new.ends_with(")\n\nimport os\n"), "{new}");
    assert!(new.contains("\n\nimport os\n"), "{new}");
}

#[test]
fn python_without_header_starts_with_the_canary() {
    let new = fixed(Lang::Python, "import flask\n");
    assert!(new.starts_with("# harden: root canary"), "{new}");
    assert!(new.ends_with(")\n\nimport flask\n"), "{new}");
    // An empty file and one without a final newline.
    assert!(fixed(Lang::Python, "").starts_with("# harden"));
    let new = fixed(Lang::Python, "# app\nx = 1");
    assert!(new.starts_with("# app\n\n# harden"), "{new}");
    assert!(new.ends_with("\n\nx = 1"), "{new}");
}

#[test]
fn python_keeps_crlf_and_tabs() {
    let text = "\"\"\"App.\"\"\"\r\nif True:\r\n\tpass\r\n";
    let new = fixed(Lang::Python, text);
    assert_eq!(new.matches('\n').count(), new.matches("\r\n").count());
    assert!(new.contains("\r\n\tprint(\r\n"), "{new:?}");
    assert!(new.contains("\r\n\t\tfile=sys.stderr,\r\n"), "{new:?}");
    // Two spaces.
    let new = fixed(Lang::Python, "def f():\n  return 1\n");
    assert!(new.contains("\n  print(\n    \"WARNING"), "{new}");
}

#[test]
fn python_refuses_what_it_cannot_step_over() {
    let e = insert(Lang::Python, "\"\"\"Doc.\"\"\"; import os\n").unwrap_err();
    assert!(e.contains("after the module docstring"), "{e}");
    let e = insert(Lang::Python, "\"\"\"Doc\n").unwrap_err();
    assert!(e.contains("does not end"), "{e}");
}

#[test]
fn recheck_refuses_a_canary_before_the_docstring_or_the_encoding_line() {
    let old = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n";
    let bad = format!("{}\n{old}", template(Lang::Python));
    assert!(recheck(Lang::Python, old, &bad).is_err());
    let old = "# -*- coding: latin-1 -*-\nx = 1\n";
    let bad = format!("{}{old}", template(Lang::Python));
    assert!(recheck(Lang::Python, old, &bad).is_err());
    // Without the marker nothing counts as inserted.
    assert!(recheck(Lang::Python, "x = 1\n", "x = 1\ny = 2\n").is_err());
}

#[test]
fn node_goes_after_shebang_and_use_strict() {
    let text = "#!/usr/bin/env node\n/* Orders API.\n * Serves /orders.\n */\n'use strict';\n\nconst http = require('http');\n";
    let new = fixed(Lang::Node, text);
    assert_eq!(
        before_marker(&new),
        [
            "#!/usr/bin/env node",
            "/* Orders API.",
            " * Serves /orders.",
            " */",
            "'use strict';",
            ""
        ]
    );
    assert!(new.contains("\n  console.error(\n    `WARNING"), "{new}");
    // The directive must stay first: a canary before it breaks strict mode.
    let bad = format!("{}{text}", template(Lang::Node));
    assert!(recheck(Lang::Node, text, &bad).is_err());
}

#[test]
fn sh_goes_after_set() {
    let text = "#!/bin/sh\n# Entrypoint.\nset -eu\n\nexec \"$@\"\n";
    let new = fixed(Lang::Sh, text);
    assert_eq!(
        before_marker(&new),
        ["#!/bin/sh", "# Entrypoint.", "set -eu", ""]
    );
}

#[test]
fn ruby_keeps_magic_comments_first() {
    let text = "#!/usr/bin/env ruby\n# frozen_string_literal: true\n\nrequire \"sinatra\"\n";
    let new = fixed(Lang::Ruby, text);
    assert_eq!(
        before_marker(&new),
        ["#!/usr/bin/env ruby", "# frozen_string_literal: true", ""]
    );
    assert!(new.contains("\n  warn \"WARNING"), "{new}");
}

#[test]
fn go_adds_the_import_in_sorted_order_and_an_init_after_the_imports() {
    let text = "// Command api serves the API.\npackage main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\n\t\"example.com/api/internal\"\n)\n\nfunc main() {\n\tfmt.Println(http.StatusOK, internal.X)\n}\n";
    let new = fixed(Lang::Go, text);
    assert!(
        new.contains("import (\n\t\"fmt\"\n\t\"net/http\"\n\t\"os\"\n\n\t\"example.com/api/internal\"\n)\n\n// harden: root canary"),
        "{new}"
    );
    assert!(new.contains("}\n\nfunc main() {\n"), "{new}");
    let again = insert(Lang::Go, &new).map(|p| p.edits.len());
    // The import is there now: only the function would be added.
    assert_eq!(again, Ok(1));
}

#[test]
fn go_with_os_imported_single_imports_or_none() {
    let text = "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n";
    let new = fixed(Lang::Go, text);
    assert_eq!(new.matches("import \"os\"").count(), 1, "{new}");

    let text = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println() }\n";
    let new = fixed(Lang::Go, text);
    assert!(
        new.starts_with("package main\n\nimport \"fmt\"\nimport \"os\"\n\n// harden"),
        "{new}"
    );

    let text = "package main\n\nfunc main() {}\n";
    let new = fixed(Lang::Go, text);
    assert!(
        new.starts_with("package main\n\nimport \"os\"\n\n// harden"),
        "{new}"
    );
    assert!(new.ends_with("}\n\nfunc main() {}\n"), "{new}");

    let e = insert(
        Lang::Go,
        "package main\n\nimport sys \"os\"\n\nfunc main() {}\n",
    )
    .unwrap_err();
    assert!(e.contains("as `sys`"), "{e}");
}

#[test]
fn java_goes_first_in_main() {
    let text = "public class App {\n    public static void main(String[] args) throws Exception {\n        Server.start(8080);\n    }\n}\n";
    let new = fixed(Lang::Java, text);
    assert!(
        new.contains("throws Exception {\n        // harden: root canary: warn when this program runs as root (uid 0).\n        if (\"root\".equals(System.getProperty(\"user.name\"))) {\n            System.err.println("),
        "{new}"
    );
    assert!(
        new.contains("        }\n\n        Server.start(8080);"),
        "{new}"
    );
    let e = insert(
        Lang::Java,
        "class A { static void main(String[] a) { run(); } }\n",
    )
    .unwrap_err();
    assert!(e.contains("goes on after"), "{e}");
    assert!(insert(Lang::Java, "class A {}\n").is_err());
}

#[test]
fn a_byte_order_mark_stays_first() {
    let new = fixed(Lang::Python, "\u{feff}import flask\n");
    assert!(new.starts_with("\u{feff}# harden: root canary"), "{new:?}");
    let new = fixed(Lang::Node, "\u{feff}'use strict';\nrun();\n");
    assert!(
        new.starts_with("\u{feff}'use strict';\n\n// harden"),
        "{new:?}"
    );
}
