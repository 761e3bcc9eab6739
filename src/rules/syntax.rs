//! What a reply template may say, checked on minijinja's own parse tree (so a comment, a raw
//! block or a string cannot hide a tag from the check): text, `{{ expressions }}` and
//! `{% if %}`; no loops, assignments, macros, calls or multiplication, and no constant holding
//! a NUL, so rendering one costs about as much as its text and yields text a database stores.

use minijinja::machinery::{WhitespaceConfig, ast, parse};
use minijinja::syntax::SyntaxConfig;

/// Filters that never make their input longer than the texts they were given.
const FILTERS: [&str; 12] = [
    "default",
    "d",
    "lower",
    "upper",
    "title",
    "capitalize",
    "trim",
    "first",
    "last",
    "length",
    "count",
    "string",
];

const ONLY: &str = "replies may use {{ variables }} and {% if %}…{% endif %} only";

/// Refuses what a reply may not use; `source` has already been compiled (its syntax is right).
pub fn allowed(source: &str) -> Result<(), String> {
    let tree = parse(source, "reply", SyntaxConfig, WhitespaceConfig::default())
        .map_err(|e| e.to_string())?;
    statement(&tree)
}

fn statements(body: &[ast::Stmt<'_>]) -> Result<(), String> {
    body.iter().try_for_each(statement)
}

fn statement(stmt: &ast::Stmt<'_>) -> Result<(), String> {
    use ast::Stmt;
    let tag = match stmt {
        Stmt::Template(t) => return statements(&t.children),
        Stmt::EmitRaw(raw) => return text(raw.raw),
        Stmt::EmitExpr(e) => return expression(&e.expr),
        Stmt::IfCond(c) => {
            expression(&c.expr)?;
            statements(&c.true_body)?;
            return statements(&c.false_body);
        }
        Stmt::ForLoop(_) => "for",
        Stmt::WithBlock(_) => "with",
        Stmt::Set(_) | Stmt::SetBlock(_) => "set",
        Stmt::AutoEscape(_) => "autoescape",
        Stmt::FilterBlock(_) => "filter",
        Stmt::Block(_) => "block",
        Stmt::Import(_) | Stmt::FromImport(_) => "import",
        Stmt::Extends(_) => "extends",
        Stmt::Include(_) => "include",
        Stmt::Macro(_) => "macro",
        Stmt::CallBlock(_) => "call",
        Stmt::Do(_) => "do",
    };
    Err(format!("uses {{% {tag} %}}; {ONLY}"))
}

fn expression(expr: &ast::Expr<'_>) -> Result<(), String> {
    use ast::{BinOpKind, Expr};
    match expr {
        Expr::Var(_) => Ok(()),
        Expr::Const(c) => c.value.as_str().map_or(Ok(()), text),
        Expr::GetAttr(g) => expression(&g.expr),
        Expr::GetItem(g) => {
            expression(&g.expr)?;
            expression(&g.subscript_expr)
        }
        Expr::Slice(s) => {
            expression(&s.expr)?;
            [&s.start, &s.stop, &s.step]
                .into_iter()
                .flatten()
                .try_for_each(expression)
        }
        Expr::UnaryOp(u) => expression(&u.expr),
        Expr::BinOp(b) if matches!(b.op, BinOpKind::Mul | BinOpKind::Pow) => {
            Err("uses arithmetic (* or **); replies may use variables and filters only".into())
        }
        Expr::BinOp(b) => {
            expression(&b.left)?;
            expression(&b.right)
        }
        Expr::Compare(c) => {
            expression(&c.expr)?;
            c.ops.iter().try_for_each(|op| expression(&op.expr))
        }
        Expr::IfExpr(i) => {
            expression(&i.test_expr)?;
            expression(&i.true_expr)?;
            i.false_expr.iter().try_for_each(expression)
        }
        Expr::Filter(f) if !FILTERS.contains(&f.name) => Err(format!(
            "uses the filter “{}”; replies may use {}",
            f.name,
            FILTERS.join(", ")
        )),
        Expr::Filter(f) => {
            f.expr.iter().try_for_each(expression)?;
            arguments(&f.args)
        }
        Expr::Test(t) => {
            expression(&t.expr)?;
            arguments(&t.args)
        }
        Expr::Call(_) => Err(format!("calls a function; {ONLY}")),
        Expr::List(l) => l.items.iter().try_for_each(expression),
        Expr::Map(m) => m.keys.iter().chain(&m.values).try_for_each(expression),
    }
}

fn arguments(args: &[ast::CallArg<'_>]) -> Result<(), String> {
    args.iter().try_for_each(|arg| match arg {
        ast::CallArg::Pos(e)
        | ast::CallArg::Kwarg(_, e)
        | ast::CallArg::PosSplat(e)
        | ast::CallArg::KwargSplat(e) => expression(e),
    })
}

/// Text a reply writes as it stands: PostgreSQL stores no NUL.
fn text(raw: &str) -> Result<(), String> {
    if raw.contains('\0') {
        return Err("holds a NUL character (\\u0000), which cannot be stored".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_raw_blocks_hide_nothing() {
        for hostile in [
            "{# {{ #}{% for i in range(9) %}x{% endfor %}",
            "{# }} #}{% set x = 1 %}",
            "{{ '{%' }}{% for c in message.text %}{{ c }}{% endfor %}",
            "{{ \"}}\" }}{% macro m() %}{% endmacro %}",
            "{%- if true %}{% for c in 'ab' %}{% endfor %}{% endif %}",
            "{{ author.username ~ (\"x\" * 9) }}",
            "{{ range(9) }}",
            "{{ message.text | replace('', 'xxxx') }}",
            "{{ message.text | indent(9999) }}",
            "{{ '\\u0000' }}",
        ] {
            assert!(allowed(hostile).is_err(), "{hostile}");
        }
        for fine in [
            "{# a note {% for %} #}Dank je {{ author.username | default('jij') | upper }}!",
            "{% raw %}{% for %}{% endraw %}",
            "{% if author.first_name and message.text is string %}Hoi{% elif platform == 'tiktok' %}Yo{% endif %}",
            "{{ match.1 ~ '!' }} {{ message.text[:20] }}",
        ] {
            assert_eq!(allowed(fine), Ok(()), "{fine}");
        }
    }
}
