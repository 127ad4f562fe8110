use super::*;

#[test]
fn requirements_txt() {
    let text = "\
# Production dependencies for the OCR worker
--index-url https://pypi.example.org/simple
--extra-index-url=https://mirror.example.org/simple
-r base.txt
-c constraints.txt
-f ./wheels

Flask==3.0.3  # web
gunicorn>=21.2,<23
transformers[torch]>=4.40
sentence_transformers ~= 2.7
numpy; python_version >= \"3.10\"
torch==2.3.1+cpu --hash=sha256:deadbeef \\
--hash=sha256:cafef00d
Pillow
requests [socks] == 2.32.3
-e git+https://github.com/acme/kraken-fork.git@v5#egg=kraken
git+https://github.com/acme/easyocr-fork.git@main#egg=EasyOCR&subdirectory=src
https://files.example.org/pkgs/nltk-3.8.1-py3-none-any.whl
./vendor/local_pkg
https://example.org/archive/without-name
mylib @ https://example.org/mylib-1.0.tar.gz
pillow>=10
\tspacy==3.7.4\r
";
    assert_eq!(
        parse_python_requirements(text),
        [
            "flask",
            "gunicorn",
            "transformers",
            "sentence-transformers",
            "numpy",
            "torch",
            "pillow",
            "requests",
            "kraken",
            "easyocr",
            "nltk",
            "mylib",
            "spacy",
        ]
    );
}

#[test]
fn requirements_edge_cases() {
    assert!(parse_python_requirements("").is_empty());
    assert!(parse_python_requirements("# only a comment\n\n   \n").is_empty());
    assert!(parse_python_requirements("\\").is_empty());
    assert_eq!(parse_python_requirements("torch\\"), ["torch"]);
    assert_eq!(
        parse_python_requirements("--editable=git+https://x/y#egg=numba"),
        ["numba"]
    );
    assert!(parse_python_requirements("-e .").is_empty());
    assert!(parse_python_requirements("é==1\n#egg=\n").is_empty());
}

#[test]
fn pyproject_pep621_and_poetry() {
    let pep621 = r#"
[build-system]
requires = ["hatchling"]

[project]
name = "vision-api"
version = "0.4.0"
dependencies = [
"fastapi>=0.110",
"Sentence-Transformers[train]>=3; python_version >= '3.9'",
"torch @ https://download.example.org/whl/cpu/torch-2.3.1-cp311-linux_x86_64.whl",
]

[project.optional-dependencies]
dev = ["pytest"]
"#;
    assert_eq!(
        parse_pyproject_dependencies(pep621),
        ["fastapi", "sentence-transformers", "torch"]
    );

    let poetry = r#"
[tool.poetry]
name = "ocr-service"
version = "1.2.0"

[tool.poetry.dependencies]
python = "^3.11"
easyocr = "^1.7"
matplotlib = { version = "^3.8", optional = true }
Numba = "*"

[tool.poetry.group.dev.dependencies]
black = "^24"
"#;
    assert_eq!(
        parse_pyproject_dependencies(poetry),
        ["easyocr", "matplotlib", "numba"]
    );
    assert!(parse_pyproject_dependencies("[project]\nname = \"x\"\n").is_empty());
}

#[test]
fn invalid_pyproject_reports_position() {
    let text = "[project]\ndependencies = [\"torch\"\n";
    let e = try_parse_pyproject_dependencies(text).expect_err("invalid");
    assert!(e.line >= 2, "{e}");
    assert!(parse_pyproject_dependencies(text).is_empty());
}

#[test]
fn package_json_runtime_dependencies_only() {
    let text = r#"{
  "name": "pdf-renderer",
  "version": "2.1.0",
  "private": true,
  "dependencies": {
"express": "^4.19.2",
"puppeteer": "^22.10.0",
"@playwright/test": "1.44.1"
  },
  "devDependencies": {
"jest": "^29.7.0",
"eslint": "^9.4.0"
  }
}"#;
    assert_eq!(
        parse_package_json_dependencies(text),
        ["@playwright/test", "express", "puppeteer"]
    );
    assert!(parse_package_json_dependencies(r#"{"name": "x"}"#).is_empty());
    assert!(parse_package_json_dependencies("[1, 2]").is_empty());
    let e = try_parse_package_json_dependencies("{\n  \"dependencies\": {,}\n}").expect_err("bad");
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn pipfile_packages_only() {
    let text = r#"
[[source]]
url = "https://pypi.example.org/simple"
verify_ssl = true
name = "internal"

[packages]
django = "==5.0.6"
NLTK = "*"
"huggingface_hub" = {version = ">=0.23", extras = ["cli"]}

[dev-packages]
pytest = "*"

[requires]
python_version = "3.12"
"#;
    assert_eq!(parse_pipfile(text), ["django", "huggingface-hub", "nltk"]);
    assert!(try_parse_pipfile("[packages\n").is_err());
    assert!(parse_pipfile("[packages\n").is_empty());
}

#[test]
fn normalisation_follows_pep_503() {
    assert_eq!(normalize_package_name("Foo__Bar.-baz"), "foo-bar-baz");
    assert_eq!(normalize_package_name(" torch "), "torch");
    assert_eq!(
        normalize_package_name("@Playwright/Test"),
        "@playwright/test"
    );
}
