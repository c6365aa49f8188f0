"""tailstop.edges: the best trials crowding one end of a hyperparameter's range."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from tailstop.edges import RangeEdge, crowded_edges, sampled_ranges
from tailstop.errors import InvalidDataError, InvalidParameterError


def _search(n: int, optimum: float, *, seed: int = 0, log: bool = False):
    """A random search over ``lr`` (its score peaks at ``optimum``, in the range's units of
    [0, 1] or beyond) and an irrelevant ``depth``: scores and configs."""
    rng = np.random.default_rng(seed)
    u, depth = rng.random(n), rng.random(n)
    lr = 10.0 ** (-5 + 4 * u) if log else u
    scores = 0.9 - (u - optimum) ** 2 + rng.normal(0, 0.002, n)
    configs = [{"lr": float(a), "depth": float(b)} for a, b in zip(lr, depth, strict=True)]
    return scores.tolist(), configs


def test_an_optimum_beyond_the_high_end_is_flagged_and_an_irrelevant_parameter_is_not():
    scores, configs = _search(300, 1.2)
    edges = crowded_edges(scores, configs, {"lr": (0, 1), "depth": (0, 1)}, "maximize")
    assert [(e.name, e.end) for e in edges] == [("lr", "high")]
    edge = edges[0]
    assert edge.best == 10 and edge.count >= 8
    assert "best trials set lr in the top tenth of its range" in str(edge)
    assert "(0 to 1)" in str(edge)
    assert edge.to_dict() == {"name": "lr", "end": "high", "count": edge.count, "best": 10,
                              "low": 0.0, "high": 1.0, "log": False}


def test_an_optimum_inside_the_range_is_not_flagged():
    for seed in range(5):
        scores, configs = _search(300, 0.5, seed=seed)
        assert crowded_edges(scores, configs, {"lr": (0, 1), "depth": (0, 1)}, "maximize") == []


def test_the_low_end_a_log_range_and_minimisation():
    scores, configs = _search(500, -0.3, log=True)
    losses = [-s for s in scores]
    ranges = {"lr": (1e-5, 0.1, True), "depth": (0, 1)}
    edges = crowded_edges(losses, configs, ranges, "minimize")
    assert [(e.name, e.end, e.best) for e in edges] == [("lr", "low", 10)]
    # read in the wrong direction, the best trials are the worst ones, at the other end
    edges = crowded_edges(losses, configs, ranges, "maximize")
    assert [(e.name, e.end) for e in edges] == [("lr", "high")]


def test_failed_trials_missing_values_and_small_searches():
    scores, configs = _search(200, 1.2)
    scores[:50] = [None] * 25 + [float("nan")] * 25  # failed trials are left out
    for config in configs[150:]:
        del config["lr"]  # a conditional parameter that these trials did not set
    edges = crowded_edges(scores, configs, {"lr": (0, 1)}, "maximize")
    assert [(e.name, e.end) for e in edges] == [("lr", "high")]
    # fewer than 20 finished trials: nothing to say
    assert crowded_edges(scores[:69], configs[:69], {"lr": (0, 1)}, "maximize") == []
    # a parameter without a range, a categorical value, a range that cannot be read
    configs = [dict(c, lr="fast") for c in configs]
    assert crowded_edges(scores, configs, {"lr": (0, 1), "depth": (1, 1)}, "maximize") == []


def test_a_nested_config_is_read_by_slash_paths():
    scores, configs = _search(300, 1.2)
    nested = [{"optimizer": {"lr": c["lr"]}, "depth": c["depth"]} for c in configs]
    edges = crowded_edges(scores, nested, {"optimizer/lr": (0, 1), "depth": (0, 1)}, "maximize")
    assert [(e.name, e.end) for e in edges] == [("optimizer/lr", "high")]


def test_bad_input_is_an_error():
    with pytest.raises(InvalidDataError, match="one entry per trial"):
        crowded_edges([0.1, 0.2], [{}], {}, "maximize")
    with pytest.raises(InvalidDataError, match="must be numbers"):
        crowded_edges(["a"] * 30, [{}] * 30, {}, "maximize")
    with pytest.raises(InvalidParameterError, match="direction"):
        crowded_edges([0.1], [{}], {}, "up")
    with pytest.raises(InvalidDataError, match="one mapping per trial"):
        sampled_ranges({"lr": [0.1, 0.2]})
    with pytest.raises(InvalidDataError, match="one mapping per trial"):
        crowded_edges([0.1] * 30, None, {}, "maximize")
    with pytest.raises(InvalidParameterError, match="ranges must map"):
        crowded_edges([0.1] * 30, [{}] * 30, [("lr", 0, 1)], "maximize")
    with pytest.raises(InvalidParameterError, match="level"):
        sampled_ranges([{}], level=1.5)


def test_an_irrelevant_parameter_is_rarely_flagged():
    """Over 200 searches of 300 trials with a flat score in ``depth``: the chance of a flag on
    it is about 4e-7 per end (binomial: 8 or more of 10 in a tenth)."""
    flagged = 0
    for seed in range(200):
        scores, configs = _search(300, 0.5, seed=seed)
        flagged += bool(crowded_edges(scores, configs, {"depth": (0, 1)}, "maximize"))
    assert flagged == 0


def _sampled_configs(n: int, seed: int = 0) -> list[dict]:
    """Configs as a random search draws them, with the fields a results file also holds."""
    rng = np.random.default_rng(seed)
    return [
        {
            "trial": i + 1,  # a counter
            "lr": float(10.0 ** rng.uniform(-5, -1)),  # log-uniform
            "dropout": float(rng.uniform(0.0, 0.5)),
            "epochs": int(rng.integers(10, 101)),  # integers, 91 values
            "layers": int(rng.integers(1, 4)),  # too few values
            "warmup": bool(rng.random() < 0.5),  # a flag
            "train_loss": float(rng.normal(1.0, 0.1)),  # a metric, not sampled over a range
            "optimizer": {"momentum": float(rng.uniform(0.8, 0.99))},
        }
        for i in range(n)
    ]


def test_sampled_ranges_reads_the_ranges_and_scales_off_the_values():
    configs = _sampled_configs(300)
    ranges = sampled_ranges(configs)
    assert sorted(ranges) == ["dropout", "epochs", "lr", "optimizer/momentum"]
    assert [ranges[name][2] for name in ("dropout", "epochs", "lr", "optimizer/momentum")] == [
        False, False, True, False]
    low, high, _ = ranges["lr"]
    assert 1e-5 <= low < 1.1e-5 and 0.09 < high <= 0.1  # the span of 300 draws
    assert ranges["epochs"][:2] == (10.0, 100.0)
    # fewer than 20 trials set a field: not enough to tell
    assert sampled_ranges(configs[:19]) == {}
    assert sampled_ranges([None, {}, {"lr": "fast"}] * 10) == {}


def test_sampled_ranges_keeps_a_sampled_field_at_the_test_level():
    """Over 200 searches of 100 trials, each field a true draw over its range: the test at
    level 0.01 keeps each of them in about 99% of the searches (a field it drops only goes
    unchecked)."""
    kept = np.zeros(4)
    for seed in range(200):
        ranges = sampled_ranges(_sampled_configs(100, seed))
        kept += [name in ranges for name in ("dropout", "epochs", "lr", "optimizer/momentum")]
    assert np.all(kept >= 0.96 * 200)


def test_a_file_of_results_is_checked_for_crowded_ends(tmp_path, capsys):
    from tailstop.cli import main

    scores, configs = _search(300, 1.2, log=True)
    path = tmp_path / "results.csv"
    lines = ["trial,score,lr,depth,seconds"] + [
        f"{i + 1},{s!r},{c['lr']!r},{c['depth']!r},{60 + 3 * i + (i % 7)}"
        for i, (s, c) in enumerate(zip(scores, configs, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    assert main(["analyze", str(path), "--direction", "maximize"]) == 0
    out = capsys.readouterr().out
    assert "range edge:" in out and "lr in the top tenth of its range" in out
    assert "log scale" in out and "depth" not in out and "seconds" not in out
    assert main(["analyze", str(path), "--direction", "maximize", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["end"], e["log"]) for e in summary["range_edges"]] == [
        ("lr", "high", True)]
    # the same records as JSON Lines, nested
    jsonl = tmp_path / "results.jsonl"
    jsonl.write_text("".join(
        json.dumps({"score": s, "config": c}) + "\n" for s, c in zip(scores, configs, strict=True)
    ))
    assert main(["analyze", str(jsonl), "--direction", "maximize", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["end"]) for e in summary["range_edges"]] == [("config/lr", "high")]


def test_a_ray_tune_folder_is_checked_with_the_ranges_of_its_configs(tmp_path, capsys):
    from tailstop.cli import main

    scores, configs = _search(200, -0.3)
    root = tmp_path / "exp"
    for i, (score, config) in enumerate(zip(scores, configs, strict=True)):
        trial = root / f"trainable_d76fb_{i:05d}_{i}_2026-12-05_22-00-00"
        trial.mkdir(parents=True)
        result = {"acc": score, "training_iteration": 1, "config": dict(config, seed=i)}
        (trial / "result.json").write_text(json.dumps(result) + "\n")
    assert main(["analyze", str(root), "--column", "acc", "--direction", "maximize"]) == 0
    out = capsys.readouterr().out
    assert "range edge:" in out and "lr in the bottom tenth of its range" in out
    edges = [line for line in out.splitlines() if "range edge:" in line]
    assert len(edges) == 1  # not depth (flat), nor seed (the trial's index)


def test_a_monitor_fed_configs_names_a_crowded_end():
    from tailstop import Monitor

    scores, configs = _search(300, 1.2, log=True)
    monitor = Monitor("maximize", budget=1000, min_trials=1000)  # (no refits needed here)
    assert monitor.range_edges() is None  # no trial yet came with a config
    for score, config in zip(scores[:150], configs[:150], strict=True):
        monitor.observe(score, config=config)
    monitor.observe(None, config=None)  # a failed trial without one
    monitor.update([*scores[:150], None, *scores[150:]],
                   configs=[*configs[:150], None, *configs[150:]])
    read = monitor.range_edges()
    assert [(e.name, e.end, e.log) for e in read] == [("lr", "high", True)]
    given = monitor.range_edges({"lr": (1e-5, 0.1, True), "depth": (0, 1)})
    assert [(e.name, e.end, e.low, e.high) for e in given] == [("lr", "high", 1e-5, 0.1)]
    blind = Monitor("maximize", min_trials=1000)
    blind.update(scores)
    assert blind.range_edges() is None


def test_a_field_that_restates_the_score_is_not_a_hyperparameter(tmp_path, capsys):
    """scikit-learn's cv_results_ as pandas writes it: an index, the sampled C, fit times,
    per-split scores and rank_test_score, a permutation of 1..n (uniform over its span, and
    its best trials all at the low end)."""
    from tailstop.cli import main

    scores, configs = _search(300, 0.5, log=True)  # the optimum inside the range
    order = np.argsort(np.argsort(-np.asarray(scores)))
    rng = np.random.default_rng(1)
    path = tmp_path / "cv_results.csv"
    lines = [",mean_fit_time,param_C,split0_test_score,mean_test_score,rank_test_score"] + [
        f"{i},{rng.gamma(4.0, 0.01)!r},{c['lr']!r},{s + rng.normal(0, 0.003)!r},{s!r},{r + 1}"
        for i, (s, c, r) in enumerate(zip(scores, configs, order, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n")
    assert main(["analyze", str(path), "--column", "mean_test_score", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["range_edges"] == []
    fields = [{"rank": int(r) + 1, "C": c["lr"]} for r, c in zip(order, configs, strict=True)]
    assert sorted(sampled_ranges(fields)) == ["C", "rank"]  # without the scores: a "range"
    assert sorted(sampled_ranges(fields, scores)) == ["C"]
    with pytest.raises(InvalidDataError, match="one entry per trial"):
        sampled_ranges(fields, scores[:10])


def test_a_file_without_hyperparameters_has_no_range_check(tmp_path, capsys):
    from tailstop.cli import main

    scores, _ = _search(100, 0.5)
    path = tmp_path / "scores.csv"
    path.write_text("score\n" + "".join(f"{s!r}\n" for s in scores))
    assert main(["analyze", str(path), "--direction", "maximize", "--json"]) == 0
    assert "range_edges" not in json.loads(capsys.readouterr().out)
    scores, configs = _search(300, 0.5)  # an optimum inside: checked, nothing found
    path.write_text("score,lr\n" + "".join(
        f"{s!r},{c['lr']!r}\n" for s, c in zip(scores, configs, strict=True)))
    assert main(["analyze", str(path), "--direction", "maximize", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["range_edges"] == []


def _optuna():
    return pytest.importorskip("optuna")


def _study(tmp_path, optimum: float, n: int = 120):
    optuna = _optuna()
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_int("layers", 1, 3)  # too few values to have ends: left out
        trial.suggest_categorical("act", ["relu", "gelu"])
        u = (np.log10(lr) + 4) / 3
        return 0.9 - (u - optimum) ** 2 + 1e-4 * ((7 * trial.number) % 5)

    return study, objective, storage


def test_the_optuna_callback_reports_and_logs_a_crowded_end_once(tmp_path, caplog):
    from tailstop.callbacks import OptunaCallback

    study, objective, _ = _study(tmp_path, 1.3)
    callback = OptunaCallback(budget=1000)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(objective, n_trials=120, callbacks=[callback])
    report = study.user_attrs["tailstop:report"]
    assert [(e["name"], e["end"]) for e in report["optuna"]["range_edges"]] == [("lr", "high")]
    logged = [r.getMessage() for r in caplog.records if "range" in r.getMessage()]
    assert len(logged) == 1 and "lr in the top tenth of its range" in logged[0]


def test_the_optuna_callback_reports_no_edge_for_an_optimum_inside(tmp_path, caplog):
    from tailstop.callbacks import OptunaCallback

    study, objective, _ = _study(tmp_path, 0.5)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(objective, n_trials=60, callbacks=[OptunaCallback(budget=1000)])
    assert study.user_attrs["tailstop:report"]["optuna"]["range_edges"] == []
    assert "range" not in caplog.text


def test_analyze_of_a_study_prints_a_crowded_end(tmp_path, capsys):
    from tailstop.cli import main

    study, objective, storage = _study(tmp_path, -0.4)
    study.optimize(objective, n_trials=200)
    assert main(["analyze", storage, "--study", "s"]) == 0
    out = capsys.readouterr().out
    assert "range edge:" in out and "lr in the bottom tenth of its range" in out
    assert main(["analyze", storage, "--study", "s", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [RangeEdge(**e).end for e in summary["range_edges"]] == ["low"]


def test_watch_of_a_study_prints_a_crowded_end(tmp_path, capsys):
    from tailstop.cli import main

    study, objective, storage = _study(tmp_path, 1.4)
    study.optimize(objective, n_trials=200)
    assert main(["watch", storage, "--study", "s", "--timeout", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "range edge:" in out and "lr in the top tenth of its range" in out


def test_sampled_ranges_reads_what_optunas_random_sampler_draws():
    """Each kind of numeric parameter Optuna samples (integers and floats, on a step, on a
    log scale) is read with its scale in nearly every one of 20 searches of 200 trials."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    log_scale = {"batch": True, "epochs": False, "dropout": False, "lr": True, "units": False,
                 "k": True}
    kept = dict.fromkeys(log_scale, 0)

    def objective(trial):
        trial.suggest_int("batch", 16, 512, log=True)
        trial.suggest_int("epochs", 1, 100)
        trial.suggest_float("dropout", 0.0, 0.5, step=0.025)
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_int("units", 32, 1024, step=32)
        trial.suggest_int("k", 1, 12, log=True)
        return 0.0

    for seed in range(20):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        study.optimize(objective, n_trials=200)
        ranges = sampled_ranges([trial.params for trial in study.trials])
        for name, log in log_scale.items():
            kept[name] += name in ranges and ranges[name][2] == log
    assert all(count >= 18 for count in kept.values()), kept
