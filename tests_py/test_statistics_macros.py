"""The macros in macros/statistics/ on hand-written inputs, against statsmodels and scipy:
the two-proportion z-test (pooled, statsmodels proportions_ztest) and its unpooled Wald
form (test_proportions_2indep / confint_proportions_2indep, method 'wald'), two-sided
normal p-values, chi-square cells and p-values (scipy chisquare / chi2.sf), the 0.975
normal quantile and Benjamini-Hochberg (statsmodels multipletests 'fdr_bh'), each through
`dbt show --inline` on DuckDB."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion
from statsmodels.stats.multitest import multipletests

from tests_py.conftest import dbt_show


def show(sql: str, work_dir: Path) -> list[dict]:
    """Rows of an inline query compiled with the project's macros."""
    return dbt_show(sql, work_dir / "macros.duckdb", work_dir)


# successes and units of two arms; the last two rows are degenerate (no units, no variance)
ARMS = [
    (30, 100, 20, 80),
    (412, 5000, 371, 4950),
    (7, 9, 1, 12),
    (0, 50, 3, 40),
    (0, 0, 3, 10),
    (0, 20, 0, 30),
]
# (chi-square, df) pairs
CHI = [(0.0, 1), (0.5, 1), (3.84, 1), (9.2, 1), (0.7, 2), (5.99, 2), (14.0, 2), (2.0, 3)]
# (holdout units, all units, holdout share) of a sample-ratio check
SRM = [(52, 1000, 0.05), (131, 1000, 0.1), (10, 10, 0.5)]


@pytest.fixture(scope="module")
def scalar_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    arms = " union all ".join(
        f"select {i} as case_id, {sa} as s_a, {na} as n_a, {sb} as s_b, {nb} as n_b"
        for i, (sa, na, sb, nb) in enumerate(ARMS)
    )
    chi = " union all ".join(
        f"select {i} as chi_id, cast({x} as double) as chi_square, {df} as df"
        for i, (x, df) in enumerate(CHI)
    )
    srm = " union all ".join(
        f"select {i} as srm_id, cast({h} as double) as held, cast({n} as double) as total, {s} as share"
        for i, (h, n, s) in enumerate(SRM)
    )
    sql = f"""
        with arms as ({arms}), chi as ({chi}), srm as ({srm}),
        tested as (
            select
                case_id,
                {{{{ two_proportion_standard_error('s_a', 'n_a', 's_b', 'n_b', pooled=true) }}}} as se_pooled,
                {{{{ two_proportion_standard_error('s_a', 'n_a', 's_b', 'n_b', pooled=false) }}}} as se_wald,
                {{{{ two_proportion_z_statistic('s_a', 'n_a', 's_b', 'n_b', pooled=true) }}}} as z_pooled,
                {{{{ two_proportion_z_statistic('s_a', 'n_a', 's_b', 'n_b', pooled=false) }}}} as z_wald,
                cast(s_a as double) / nullif(n_a, 0) - cast(s_b as double) / nullif(n_b, 0) as diff
            from arms
        )
        select 'arms' as kind, case_id as id, se_pooled, se_wald, z_pooled, z_wald,
            {{{{ two_sided_normal_p_value('z_pooled') }}}} as p_a,
            {{{{ two_sided_normal_p_value('z_wald') }}}} as p_b,
            {{{{ wald_interval_bound('diff', 'se_wald', 'lower') }}}} as low,
            {{{{ wald_interval_bound('diff', 'se_wald', 'upper') }}}} as high,
            {{{{ normal_quantile_975() }}}} as z_975
        from tested
        union all
        select 'chi', chi_id, null, null, null, null,
            {{{{ chi_square_p_value('chi_square', 'df') }}}},
            case when df = 1 then {{{{ chi_square_p_value('chi_square', 1) }}}}
                when df = 2 then {{{{ chi_square_p_value('chi_square', 2) }}}} end,
            null, null, null
        from chi
        union all
        select 'srm', srm_id, null, null, null, null,
            {{{{ chi_square_term('held', 'total * share') }}}}
            + {{{{ chi_square_term('total - held', 'total * (1 - share)') }}}},
            null, null, null, null
        from srm
    """
    return show(sql, tmp_path_factory.mktemp("scalar"))


def _rows(rows: list[dict], kind: str) -> dict[int, dict]:
    return {row["id"]: row for row in rows if row["kind"] == kind}


def test_normal_quantile_is_scipys(scalar_rows: list[dict]) -> None:
    assert scalar_rows[0]["z_975"] == pytest.approx(stats.norm.ppf(0.975), abs=1e-15)


def test_pooled_two_proportion_z_test_matches_statsmodels(scalar_rows: list[dict]) -> None:
    arms = _rows(scalar_rows, "arms")
    for i, (sa, na, sb, nb) in enumerate(ARMS[:4]):
        z, p = proportion.proportions_ztest([sa, sb], [na, nb])
        assert arms[i]["z_pooled"] == pytest.approx(z, rel=1e-12), (sa, na, sb, nb)
        assert arms[i]["p_a"] == pytest.approx(p, rel=1e-9, abs=1e-15), (sa, na, sb, nb)


def test_unpooled_wald_test_and_interval_match_statsmodels(scalar_rows: list[dict]) -> None:
    arms = _rows(scalar_rows, "arms")
    for i, (sa, na, sb, nb) in enumerate(ARMS[:4]):
        result = proportion.test_proportions_2indep(sa, na, sb, nb, method="wald", compare="diff")
        low, high = proportion.confint_proportions_2indep(sa, na, sb, nb, method="wald", compare="diff")
        assert arms[i]["z_wald"] == pytest.approx(result.statistic, rel=1e-12), (sa, na, sb, nb)
        assert arms[i]["p_b"] == pytest.approx(result.pvalue, rel=1e-9, abs=1e-15)
        assert (arms[i]["low"], arms[i]["high"]) == pytest.approx((low, high), rel=1e-12)
        rate_a, rate_b = sa / na, sb / nb
        assert arms[i]["se_wald"] == pytest.approx(
            math.sqrt(rate_a * (1 - rate_a) / na + rate_b * (1 - rate_b) / nb), rel=1e-14
        )


def test_degenerate_arms_give_null_not_an_error(scalar_rows: list[dict]) -> None:
    arms = _rows(scalar_rows, "arms")
    no_units, no_variance = arms[len(ARMS) - 2], arms[len(ARMS) - 1]
    assert no_units["se_pooled"] is None and no_units["z_pooled"] is None and no_units["p_a"] is None
    assert no_units["se_wald"] is None and no_units["z_wald"] is None and no_units["p_b"] is None
    assert no_variance["se_pooled"] == 0 and no_variance["z_pooled"] is None and no_variance["p_a"] is None


def test_chi_square_p_values_match_scipy(scalar_rows: list[dict]) -> None:
    chi = _rows(scalar_rows, "chi")
    for i, (x, df) in enumerate(CHI):
        if df > 2:
            assert chi[i]["p_a"] is None and chi[i]["p_b"] is None
            continue
        assert chi[i]["p_a"] == pytest.approx(stats.chi2.sf(x, df), rel=1e-12, abs=1e-15), (x, df)
        assert chi[i]["p_b"] == chi[i]["p_a"]


def test_chi_square_terms_sum_to_scipys_statistic(scalar_rows: list[dict]) -> None:
    srm = _rows(scalar_rows, "srm")
    for i, (held, total, share) in enumerate(SRM):
        expected = stats.chisquare([held, total - held], [total * share, total * (1 - share)]).statistic
        assert srm[i]["p_a"] == pytest.approx(expected, rel=1e-12), (held, total, share)


# p-values of two families (a: ties and a null, b: one test), with a name to break ties
FAMILIES = [
    ("a", "m1", 0.01),
    ("a", "m2", 0.04),
    ("a", "m3", 0.04),
    ("a", "m4", None),
    ("a", "m5", 0.03),
    ("a", "m6", 0.2),
    ("a", "m7", 0.9),
    ("b", "m1", 0.3),
]


def test_benjamini_hochberg_matches_statsmodels(tmp_path: Path) -> None:
    values = " union all ".join(
        f"select '{family}' as family, '{name}' as metric, cast({'null' if p is None else p} as double) as p"
        for family, name, p in FAMILIES
    )
    rows = show(
        f"with tests as ({values}) {{{{ benjamini_hochberg('tests', 'p', ['family'], 'metric') }}}}",
        tmp_path,
    )
    adjusted = {(row["family"], row["metric"]): row["p_value_bh"] for row in rows}
    assert len(adjusted) == len(FAMILIES)
    assert adjusted[("a", "m4")] is None
    for family in ("a", "b"):
        tested = [(name, p) for fam, name, p in FAMILIES if fam == family and p is not None]
        expected = multipletests(np.array([p for _, p in tested]), method="fdr_bh")[1]
        for (name, _), value in zip(tested, expected, strict=True):
            assert adjusted[(family, name)] == pytest.approx(value, rel=1e-12), (family, name)
