"""Templates: a recipe's own folder first; Jinja's compiled templates cached outside the project, never stale."""
from edgebuild.recipe import load_recipe
from edgebuild.resources import jinja_environment

RECIPE = """\
model:
  keras: m.keras
dataset:
  source: sklearn_iris
labels: [a, b, c]
targets:
  - {name: fp32, quantization: float32}
templates: mine
"""


def recipe_with_templates(root):
    (root / "recipes").mkdir(parents=True)
    (root / "m.keras").write_bytes(b"not read")
    (root / "mine" / "ios").mkdir(parents=True)
    (root / "recipes" / "own.yaml").write_text(RECIPE)
    return load_recipe(root / "recipes" / "own.yaml", root)


def test_compiled_templates_are_kept_and_an_edited_template_is_compiled_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    recipe = recipe_with_templates(tmp_path / "project")
    template = tmp_path / "project" / "mine" / "ios" / "Note.txt.j2"
    template.write_text("size {{ n | kb }} KB\n")
    assert jinja_environment(recipe, "ios").get_template("Note.txt.j2").render(n=2048) == "size 2.0 KB\n"
    cached = list((tmp_path / "cache" / "edgebuild" / "templates").glob("ios-*/*"))
    assert len(cached) == 1
    first, written = cached[0].read_bytes(), cached[0].stat().st_mtime_ns
    assert jinja_environment(recipe, "ios").get_template("Note.txt.j2").render(n=4096) == "size 4.1 KB\n"
    assert cached[0].stat().st_mtime_ns == written  # read back, not compiled again

    template.write_text("{% if n %}\nbytes {{ n }}\n{% endif %}\n")  # a fresh environment, as the next step's
    assert jinja_environment(recipe, "ios").get_template("Note.txt.j2").render(n=2048) == "bytes 2048\n"
    assert cached[0].read_bytes() != first  # compiled again from the new source, in place


def test_escaping_rules_keep_their_own_compiled_templates(tmp_path, monkeypatch):
    """The same file under two escaping rules compiles to two programs: one folder each."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    recipe = recipe_with_templates(tmp_path / "project")
    (tmp_path / "project" / "mine" / "ios" / "x.j2").write_text("{{ text }}")
    plain = jinja_environment(recipe, "ios").get_template("x.j2").render(text="<b>")
    escaped = jinja_environment(recipe, "ios", autoescape=True).get_template("x.j2").render(text="<b>")
    assert (plain, escaped) == ("<b>", "&lt;b&gt;")
    assert len(list((tmp_path / "cache" / "edgebuild" / "templates").glob("ios-*"))) == 2


def test_no_cache_where_its_folder_cannot_be_made(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    recipe = recipe_with_templates(tmp_path / "project")
    (tmp_path / "project" / "mine" / "ios" / "x.j2").write_text("{{ 1 + 1 }}")
    env = jinja_environment(recipe, "ios")
    assert env.bytecode_cache is None
    assert env.get_template("x.j2").render() == "2"
