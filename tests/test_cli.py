"""The ``tailstop`` command line: reports, JSON, plots, Optuna storages and every user error."""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tailstop import NoisyQuadraticDistribution, _report, cli
from tailstop.synthetic import make_problem

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)

SRC = Path(__file__).resolve().parents[1] / "src"
N = 100


def _maximized_scores() -> np.ndarray:
    scores = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.02).sample(N, generator=0)
    scores[[3, 40, 77]] = np.nan
    return scores


def _minimized_scores() -> np.ndarray:
    return NoisyQuadraticDistribution(0.0, 1.0, 2, 0.02, convex=True).sample(N, generator=1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    scores = _maximized_scores()
    with (root / "scores.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial", "lr", "accuracy"])
        for i, s in enumerate(scores):
            writer.writerow([i, 0.01, "" if np.isnan(s) else repr(float(s))])
    with (root / "scores.jsonl").open("w") as handle:
        for i, s in enumerate(_minimized_scores()):
            handle.write(json.dumps({"trial": i, "score": None if i == 7 else float(s)}) + "\n")
    (root / "few.csv").write_text("score\n" + "\n".join(str(v) for v in range(5)) + "\n")
    fifteen = "\n".join(str(v) for v in scores[:15] if np.isfinite(v))
    (root / "fifteen.csv").write_text("score\n" + fifteen + "\n")
    (root / "words.csv").write_text("score\n0.5\n0.6\nhigh\n")
    (root / "broken.jsonl").write_text('{"score": 0.5}\n{"score": 0.6\n')
    (root / "scores.parquet").write_bytes(b"PAR1")
    return root


def _trial(value=None, state=None, values=None):
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    return create_trial(
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0.0, 1.0)},
        value=value,
        values=values,
        state=state or TrialState.COMPLETE,
    )


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    """A SQLite storage: 'search' (minimise, 3 failed, 2 pruned), 'other', 'multi'."""
    from optuna.trial import TrialState

    url = f"sqlite:///{tmp_path_factory.mktemp('optuna') / 'studies.db'}"
    search = optuna.create_study(study_name="search", storage=url, direction="minimize")
    trials = [_trial(float(v)) for v in _minimized_scores()[:60]]
    trials += [_trial(state=TrialState.FAIL) for _ in range(3)]
    trials += [_trial(state=TrialState.PRUNED) for _ in range(2)]
    search.add_trials(trials)
    optuna.create_study(study_name="other", storage=url)
    multi = optuna.create_study(study_name="multi", storage=url,
                                directions=["minimize", "maximize"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        multi.set_metric_names(["loss", "acc"])
    multi.add_trials([_trial(values=[float(v), 1.0 - float(v) ** 2])
                      for v in _minimized_scores()[:40]])
    return url


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# -- successful runs -------------------------------------------------------------------------


def test_analyze_csv_prints_the_report_and_writes_the_plot(files, capsys):
    pytest.importorskip("matplotlib")
    plot = files / "curve.png"
    code, out, err = _run(
        capsys, "analyze", files / "scores.csv", "--column", "accuracy", "--plot", plot
    )
    assert code == 0, err
    assert "maximize" in out
    for label in (
        "trials",
        "current best",
        "best possible",
        "effective dimension",
        "seed noise",
        "expected gain, 10 more",
        "expected gain, 100 more",
        "trials to gain",
        "law fits",
    ):
        assert label in out
    trials_row = next(line for line in out.splitlines() if line.strip().startswith("trials "))
    assert f"{N}" in trials_row and "(3 failed)" in trials_row
    best = np.nanmax(_maximized_scores())
    assert f"{best:.6f}"[:6] in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_more_reports_the_gains_of_the_trials_asked_for(files, capsys):
    """``--more K ...``: an expected-gain row per K (the Python API's figures, sorted, each
    once) and the chance to gain delta over the last; in ``--json`` besides 1, 10, 100."""
    argv = [str(files / "scores.csv"), "--column", "accuracy"]
    code, out, err = _run(capsys, "analyze", *argv, "--more", "1000", "30", "30")
    assert code == 0, err
    rows = [line.split()[2] for line in out.splitlines() if "expected gain," in line]
    assert rows == ["30", "1,000"]
    assert "chance in 1,000 more" in out
    args = cli.build_parser().parse_args(["analyze", *argv])
    loaded, direction = cli._scores_and_direction(args)
    estimate, _ = cli._analyze(loaded.scores, direction, args, configs=loaded.configs)
    row = next(line for line in out.splitlines() if "expected gain, 1,000 more" in line)
    gain = estimate.expected_gain(1000)
    assert f"{gain.estimate:.4g}" in row and f"{gain.high:.4g}]" in row
    code, out, err = _run(capsys, "analyze", *argv)
    assert code == 0, err
    rows = [line.split()[2] for line in out.splitlines() if "expected gain," in line]
    assert rows == ["10", "100"] and "chance in 100 more" in out
    code, out, err = _run(capsys, "analyze", *argv, "--more", "30", "--json")
    assert code == 0, err
    gains = json.loads(out)["expected_gain"]
    assert sorted(gains, key=int) == ["1", "10", "30", "100"]
    assert gains["30"]["estimate"] == pytest.approx(float(estimate.expected_gain(30).estimate))
    # the "trials to gain" line too (it was missing from --json): --delta over the last K
    code, out, err = _run(capsys, "analyze", *argv, "--more", "30", "--delta", "0.002", "--json")
    assert code == 0, err
    wait = json.loads(out)["trials_to_gain"]
    assert wait["delta"] == 0.002 and wait["delta_source"] == "given" and wait["horizon"] == 30
    assert wait["chance"] == pytest.approx(float(estimate.prob_improvement(0.002, 30)))
    needed = float(estimate.trials_to_gain(0.002, 0.5))
    assert wait["trials"] == (pytest.approx(needed) if math.isfinite(needed) else None)


def test_analyze_progress_feeds_a_live_monitor_and_draws_it(files, capsys):
    pytest.importorskip("matplotlib")
    path = files / "progress.png"
    code, out, err = _run(
        capsys, "analyze", files / "scores.csv", "--column", "accuracy", "--progress", path
    )
    assert code == 0, err
    assert "feeding the" in err
    verdict = next(line for line in out.splitlines() if line.startswith(f"wrote {path}: "))
    assert verdict.startswith(f"wrote {path}: a live monitor would ")
    assert (f"of its {N} trials" in verdict) != ("before its end" in verdict)  # one or other
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_jsonl_json_output(files, capsys):
    code, out, _ = _run(
        capsys, "analyze", files / "scores.jsonl", "--direction", "minimize", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["direction"] == "minimize"
    assert report["n_trials"] == N and report["n_failed"] == 1
    scores = _minimized_scores()
    scores[7] = np.nan
    assert report["current_best"] == pytest.approx(np.nanmin(scores))
    assert report["best_possible"]["low"] <= report["best_possible"]["high"]


def test_analyze_with_a_known_noise_holds_it_and_refuses_a_negative_one(files, capsys):
    code, out, err = _run(
        capsys, "analyze", files / "scores.jsonl", "--direction", "minimize", "--json",
        "--noise", "0.002",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["noise"] == 0.002 and report["noise_known"] is True
    code, out, err = _run(capsys, "analyze", files / "scores.jsonl", "--noise", "-1")
    assert code == 2 and "--noise" in err and ">= 0" in err


def test_a_loss_column_read_as_a_score_to_maximize_gets_a_note(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    path.write_text("val_loss,accuracy\n" + "".join(
        f"{s!r},{1 - s!r}\n" for s in map(float, _minimized_scores())))
    code, _, err = _run(capsys, "analyze", path, "--column", "val_loss")
    assert code == 0 and "pass --direction minimize for a loss" in err
    for args in (("--column", "val_loss", "--direction", "maximize"), ("--column", "accuracy")):
        code, _, err = _run(capsys, "analyze", path, *args)
        assert code == 0 and "note" not in err


def test_an_optuna_trials_dataframe_is_read_by_its_trials_states(tmp_path, capsys):
    """``study.trials_dataframe()`` written as CSV: ``value`` read by default (with a note on
    the direction, which the export does not keep), a pruned trial counted failed even with
    the intermediate value Optuna gives it, a failed one failed, a running one left out, as
    when the study itself is read."""
    pytest.importorskip("pandas")  # (trials_dataframe needs it)
    from tailstop._io import load_scores

    url = f"sqlite:///{tmp_path / 'search.db'}"
    study = optuna.create_study(storage=url, study_name="s", direction="minimize")
    values = [float(v) for v in _minimized_scores()[:40]]
    for value in values:
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        study.tell(trial, value)
    pruned = study.ask()
    pruned.report(-100.0, step=1)  # better than every score: it must not count
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    study.ask()  # running
    path = tmp_path / "trials.csv"
    study.trials_dataframe().to_csv(path, index=False)
    assert "PRUNED" in path.read_text() and "RUNNING" in path.read_text()

    loaded = load_scores(str(path))
    assert loaded.column == "value"
    assert loaded.scores == [*values, None, None]
    assert load_scores(url, study="s").scores == loaded.scores  # as the study itself reads
    code, out, err = _run(capsys, "analyze", path)
    assert code == 0, err
    assert "an Optuna export does not say its study's direction" in err
    assert "(2 failed)" in out and "maximize" in out
    code, out, err = _run(capsys, "analyze", path, "--direction", "minimize")
    assert code == 0 and "note" not in err
    assert f"{min(values):.4f}"[:5] in out

    # the same export as JSON Lines and as one JSON array (pandas' to_json)
    frame = study.trials_dataframe()
    for name, lines in (("trials.jsonl", True), ("trials.json", False)):
        path = tmp_path / name
        frame.to_json(path, orient="records", lines=lines, date_format="iso",
                      double_precision=15)
        loaded = load_scores(str(path))
        assert loaded.column == "value" and loaded.scores[-2:] == [None, None], name
        np.testing.assert_allclose(loaded.scores[:-2], values, rtol=1e-13)
        code, out, err = _run(capsys, "analyze", path)
        assert code == 0 and "an Optuna export does not say its study's direction" in err


@pytest.mark.parametrize(
    ("header", "states", "expected"),
    [
        # MLflow's runs table (mlflow.search_runs): status FINISHED, FAILED, KILLED, RUNNING
        ("status", ["FINISHED", "FAILED", "KILLED", "RUNNING", "FINISHED"],
         [0.8, None, None, 0.7]),
        # W&B's runs table: State finished, crashed, running, failed
        ("State", ["finished", "crashed", "running", "failed", "finished"],
         [0.8, None, None, 0.7]),
        # a state column of other words is not the trials' states: every score is read
        ("state", ["CA", "NY", "CA", "TX", "NY"], [0.8, 0.9, 0.95, 0.6, 0.7]),
    ],
)
def test_a_state_column_decides_which_rows_are_scores(tmp_path, header, states, expected):
    from tailstop._io import load_scores

    path = tmp_path / "runs.csv"
    values = [0.8, 0.9, 0.95, 0.6, 0.7]
    rows = zip(states, values, strict=True)
    path.write_text(f"run,{header},metrics.accuracy\n" + "".join(
        f"r{i},{state},{value}\n" for i, (state, value) in enumerate(rows)))
    assert load_scores(str(path), column="metrics.accuracy").scores == expected
    # the same runs as JSON Lines records, the state under the same key
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(
        json.dumps({"run": f"r{i}", header: state, "metrics": {"accuracy": value}}) + "\n"
        for i, (state, value) in enumerate(zip(states, values, strict=True))))
    assert load_scores(str(path), column="metrics/accuracy").scores == expected


def test_a_json_state_key_of_other_values_is_left_alone(tmp_path):
    """A state key holding other things than state words (numbers, objects, other words)
    leaves every record's score read; a record without the key, among known states, is read."""
    from tailstop._io import load_scores

    path = tmp_path / "runs.jsonl"
    for states in ([1, 2, 3], [{"a": 1}, "failed", "finished"], ["CA", "failed", "NY"]):
        path.write_text("".join(json.dumps({"state": state, "score": 0.5 + i / 10}) + "\n"
                                for i, state in enumerate(states)))
        assert load_scores(str(path)).scores == [0.5, 0.6, 0.7], states
    path.write_text('{"score": 0.5}\n{"state": "failed", "score": 0.6}\n'
                    '{"state": "running", "score": 0.7}\n{"state": "finished", "score": 0.8}\n')
    assert load_scores(str(path)).scores == [0.5, None, 0.8]


@pytest.fixture(scope="module")
def ray_folder(tmp_path_factory):
    """A Ray Tune experiment's folder as Tune 2 writes it: one folder per trial, named with
    its index, holding result.json (one nested result per line); trial 3 errored after one
    result, trial 5 reported nothing."""
    root = tmp_path_factory.mktemp("ray") / "exp"
    root.mkdir()
    (root / "experiment_state-2026-12-02_04-42-55.json").write_text("{}")
    scores = _maximized_scores()[:30]
    for i, score in enumerate(scores):
        trial = root / f"trainable_d76fb_{i:05d}_{i}_x={i / 30:.4f}_2026-12-02_04-42-55"
        trial.mkdir()
        lines = [] if i == 5 else [
            {"val": {"acc": float(score) - 0.01}, "training_iteration": 1, "config": {"x": i}},
            {"val": {"acc": float(score)}, "training_iteration": 2, "config": {"x": i}},
        ]
        if i == 3:
            lines = lines[:1]
            (trial / "error.txt").write_text("ValueError: diverged")
        (trial / "result.json").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return root, scores


def test_a_ray_tune_folder_gives_each_trials_last_result_in_trial_order(ray_folder, capsys):
    from tailstop._io import load_scores

    root, scores = ray_folder
    loaded = load_scores(str(root), column="val/acc")
    expected = [None if i in (3, 5) else float(s) for i, s in enumerate(scores)]
    assert loaded.scores == expected  # trial 10 after trial 9: by Tune's index, not the name
    assert loaded.configs[0] == {"x": 0} and loaded.configs[5] is None
    assert loaded.direction is None
    code, out, err = _run(capsys, "analyze", root, "--column", "val/acc", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["n_trials"] == 30 and report["n_failed"] == 2
    assert report["current_best"] == pytest.approx(max(s for s in expected if s is not None))
    code, _, err = _run(capsys, "analyze", root, "--column", "loss")
    assert code == 1 and "no trial reported 'loss'; their metrics: val/acc (choose" in err


def test_a_ray_tune_folder_with_an_unreadable_result_is_a_clear_error(tmp_path, capsys):
    trial = tmp_path / "exp" / "trainable_d76fb_00000_0_x=0.1"
    trial.mkdir(parents=True)
    (trial / "result.json").write_bytes(b"\xff\xfe{}\n")
    code, _, err = _run(capsys, "analyze", tmp_path / "exp", "--column", "val/acc")
    assert code == 1 and "trainable_d76fb_00000_0_x=0.1: cannot read result.json" in err


def _experiment_state(root, trials, started="2026-12-02_06-07-23"):
    """Tune's experiment checkpoint as Ray 2 writes it: per trial, its state and its
    runtime data as JSON strings (``trials``: folder name -> (status, last result's done)).
    Returns its path."""
    entries = [
        [json.dumps({"trial_id": name[16:27], "status": status, "relative_logdir": name}),
         json.dumps({"last_result": {"done": done} if done is not None else {}})]
        for name, (status, done) in trials.items()
    ]
    path = root / f"experiment_state-{started}.json"
    path.write_text(json.dumps({"trial_data": entries, "runner_data": {}, "stats": {}}))
    return path


def test_a_ray_tune_folder_is_read_by_its_newest_runs_checkpoint(ray_folder, tmp_path):
    """A folder that holds two runs' checkpoints (a name used again; Ray 2.9 copies its whole
    staging folder): the run that began last decides, whatever the files' times say."""
    import os
    import shutil

    from tailstop._io import load_scores

    source, scores = ray_folder
    root = tmp_path / "exp"
    shutil.copytree(source, root)
    (root / "experiment_state-2026-12-02_04-42-55.json").unlink()
    folders = sorted((f.name for f in root.iterdir() if f.is_dir()),
                     key=lambda name: int(name.split("_")[2]))
    old = _experiment_state(root, {name: ("TERMINATED", True) for name in folders[:10]},
                            started="2026-12-01_09-00-00")
    new = _experiment_state(root, {name: ("TERMINATED", True) for name in folders[10:]},
                            started="2026-12-02_09-00-00")
    os.utime(old, (2e9, 2e9))  # the older run's file copied last
    os.utime(new, (1e9, 1e9))
    loaded = load_scores(str(root), column="val/acc")
    assert loaded.scores == [float(s) for s in scores[10:]]


def test_a_ray_tune_folder_leaves_out_the_trials_its_checkpoint_shows_unfinished(
        ray_folder, tmp_path, capsys):
    import shutil

    from tailstop._io import load_scores

    source, scores = ray_folder
    root = tmp_path / "exp"
    shutil.copytree(source, root)
    (root / "experiment_state-2026-12-02_04-42-55.json").unlink()
    folders = sorted(f.name for f in root.iterdir() if f.is_dir())
    states = {name: ("TERMINATED", True) for name in folders}
    states[folders[3]] = ("ERROR", None)
    states[folders[7]] = ("RUNNING", False)  # its result so far is not its score
    states[folders[8]] = ("TERMINATED", False)  # cut off by a stop of the whole experiment
    states[folders[9]] = ("PENDING", None)
    del states[folders[12]]  # started after the checkpoint
    _experiment_state(root, states)
    index = {name: int(name.split("_")[2]) for name in folders}
    left_out = {index[folders[k]] for k in (7, 8, 9, 12)}
    loaded = load_scores(str(root), column="val/acc")
    expected = [None if i in (3, 5) else float(s)
                for i, s in enumerate(scores) if i not in left_out]
    assert loaded.scores == expected
    assert len(loaded.configs) == len(expected)
    assert "4 unfinished trials left out" in loaded.source
    # every trial still open (a watch's first poll): no scores yet, and no error
    _experiment_state(root, {name: ("RUNNING", False) for name in folders})
    assert load_scores(str(root), column="val/acc").scores == []
    # a checkpoint caught half-copied: an error (a watch reads it again at its next poll),
    # not a fallback that would count the running trials' results
    state = next(root.glob("experiment_state-*.json"))
    state.write_text(state.read_text()[:50])
    code, _, err = _run(capsys, "analyze", root, "--column", "val/acc")
    assert code == 1 and "cannot read Tune's experiment checkpoint" in err


def test_a_long_result_file_is_read_from_its_end(tmp_path):
    from tailstop._io import load_scores
    from tailstop._io_ray import _last_line

    trial = tmp_path / "exp" / "trainable_d76fb_00000_0_x=0.1"
    trial.mkdir(parents=True)
    lines = [json.dumps({"acc": i / 5000, "pad": "x" * 40}) for i in range(5000)]
    (trial / "result.json").write_text("\n".join(lines) + "\n\n")
    assert load_scores(str(tmp_path / "exp"), column="acc").scores == [4999 / 5000]
    for block in (1, 7, 64, 1 << 16):
        assert _last_line(trial / "result.json", block=block) == lines[-1]
    (trial / "result.json").write_text("\n \n")
    assert _last_line(trial / "result.json", block=1) is None


def test_watch_reads_a_growing_file_again_at_every_poll(tmp_path, capsys, monkeypatch):
    path = tmp_path / "live.csv"
    scores = _maximized_scores()
    path.write_text("accuracy\n" + "".join(f"{s!r}\n" for s in map(float, scores[:40])))
    polls = []

    def sleep(seconds):  # between polls: one more trial, then a half-written line
        polls.append(seconds)
        with path.open("a") as handle:
            handle.write(f"{float(scores[40])!r}\n" if len(polls) == 1 else "0.8e")
        if len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.time, "sleep", sleep)
    code, out, err = _run(capsys, "watch", path, "--column", "accuracy", "--interval", "0.5")
    assert code == 0 and polls == [0.5, 0.5, 0.5]
    assert out.count("best possible") == 2  # 40 trials, then 41; the bad line changes nothing
    rows = [line.split() for line in out.splitlines()
            if line.split()[:1] == ["trials"] and "failed" in line]
    assert [row[1] for row in rows] == ["40", "41"]
    assert "cannot read" in err and "trying again" in err


def test_analyze_optuna_study_takes_its_direction(storage, capsys):
    code, out, err = _run(capsys, "analyze", storage, "--study", "search")
    assert code == 0, err
    assert "minimize" in out and "study 'search'" in out
    trials_row = next(line for line in out.splitlines() if line.strip().startswith("trials "))
    assert "65" in trials_row and "(5 failed)" in trials_row


def test_analyze_one_objective_of_a_multi_objective_study(storage, capsys):
    scores = _minimized_scores()[:40]
    for objective, direction, best in (("acc", "maximize", np.max(1.0 - scores**2)),
                                       ("0", "minimize", np.min(scores))):
        code, out, err = _run(capsys, "analyze", storage, "--study", "multi", "--objective",
                              objective, "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["direction"] == direction
        assert report["current_best"] == pytest.approx(best)
    # the text report says which objective it read
    for objective, said in (("acc", "objective 1 ('acc')"), ("0", "objective 0 ('loss')")):
        code, out, err = _run(capsys, "analyze", storage, "--study", "multi", "--objective",
                              objective)
        assert code == 0 and said in out.splitlines()[0], out


def test_a_study_that_repeats_configurations_exactly_is_read_as_deterministic(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'discrete.db'}"
    study = optuna.create_study(study_name="d", storage=url, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def discrete(trial) -> float:  # 60 configurations, no seed: random search repeats them
        k = trial.suggest_int("k", 1, 30)
        flag = trial.suggest_categorical("flag", ["a", "b"])
        return 0.9 - 2e-4 * (k - 12) ** 2 - 0.01 * (flag == "b")

    study.optimize(discrete, n_trials=90)
    code, out, err = _run(capsys, "analyze", url, "--study", "d", "--json")
    assert code == 0 and "a deterministic objective, its seed noise held at 0" in err
    report = json.loads(out)
    assert report["noise"] == 0.0 and report["noise_known"]
    for extra in (["--no-detect-deterministic"], ["--noise", "0.01"]):
        code, out, err = _run(capsys, "analyze", url, "--study", "d", "--json", *extra)
        assert code == 0 and "deterministic" not in err
        assert json.loads(out)["noise_known"] == ("--noise" in extra)
    # the text report says where the noise came from: the repeats, or the user
    code, out, _ = _run(capsys, "analyze", url, "--study", "d")
    assert code == 0 and "(0: repeated configurations scored the same)" in out
    code, out, _ = _run(capsys, "analyze", url, "--study", "d", "--noise", "0.01")
    assert code == 0 and "between seeds (given)" in out and "repeated" not in out


def test_watch_ends_when_the_study_is_stopped(storage, capsys):
    study = optuna.load_study(study_name="search", storage=storage)
    study.set_user_attr(cli.STOP_ATTR, {"reason": "expected gain below the noise"})
    try:
        code, out, _ = _run(capsys, "watch", storage, "--study", "search")
    finally:
        study.set_user_attr(cli.STOP_ATTR, None)
    assert code == 0
    assert "best possible" in out
    assert "the search has stopped: expected gain below the noise" in out


def test_watch_reports_the_gains_asked_for(storage, capsys):
    study = optuna.load_study(study_name="search", storage=storage)
    study.set_user_attr(cli.STOP_ATTR, {"reason": "stopped"})  # one report, then the end
    try:
        code, out, err = _run(capsys, "watch", storage, "--study", "search",
                              "--more", "500", "50", "--delta", "0.01")
    finally:
        study.set_user_attr(cli.STOP_ATTR, None)
    assert code == 0, err
    rows = [line.split()[2] for line in out.splitlines() if "expected gain," in line]
    assert rows == ["50", "500"]
    assert "trials to gain 0.01" in out and "chance in 500 more" in out


def test_watch_opens_a_study_once_and_reads_it_at_every_poll(storage, capsys, monkeypatch):
    from tailstop import _io_study

    opened, polls = [], []
    real_load_study = _io_study.load_study
    monkeypatch.setattr(_io_study, "load_study", lambda *a: opened.append(a) or real_load_study(*a))
    def sleep(seconds):  # two polls after the first read, then Ctrl-C
        polls.append(seconds)
        if len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.time, "sleep", sleep)
    code, out, _ = _run(capsys, "watch", storage, "--study", "search", "--interval", "0.01")
    assert code == 0 and "best possible" in out
    assert len(opened) == 1 and len(polls) == 3


def test_watch_times_out_on_a_quiet_study(storage, capsys):
    code, out, _ = _run(
        capsys,
        "watch",
        "--storage",
        storage,
        "--study",
        "other",
        "--interval",
        "0.01",
        "--timeout",
        "0.05",
    )
    assert code == 0
    assert "0 finished trials" in out


def test_replay_with_bounds_stops_at_the_metric_s_best_value(tmp_path, capsys):
    """Many trials reach accuracy 1: with ``--bounds 0 1`` nothing can beat the best once it
    is 1, and GainBelow stops soon after its first refit; without the bounds it cannot
    know, and the tail of ties is not a law it can read."""
    accuracy = np.round(1.0 - np.random.default_rng(0).beta(1.0, 8.0, 120) * 0.2, 2)
    path = tmp_path / "ceiling.csv"
    path.write_text("score\n" + "\n".join(str(v) for v in accuracy) + "\n")
    used = {}
    # one order without the bounds: it runs all 120 trials, refitting after each (~15 s)
    for orders, extra in (("1", []), ("3", ["--bounds", "0", "1"])):
        code, out, _err = _run(capsys, "replay", path, "--epsilon", "0.005", "--orders", orders,
                               *extra)
        assert code == 0
        row = next(line for line in out.splitlines() if line.startswith("tailstop GainBelow(0"))
        used[bool(extra)] = float(row.split()[2])
    assert used[True] < 40 < used[False]
    code, out, _err = _run(capsys, "analyze", path, "--bounds", "0", "1")
    assert code == 0
    assert "(the current best is the metric's best value)" in out
    assert re.search(r"expected gain, 100 more +0  \[0, 0\]", out)


def test_version_and_help(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["analyze", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--column" in out and "--study" in out


def test_python_dash_m(files):
    result = subprocess.run(
        [sys.executable, "-m", "tailstop", "analyze", str(files / "missing.csv")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("tailstop: error: no such file")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("wide.csv", "a,score\n1,0.5\n\n2,\n3,nan\n4,0.7\n\n", [0.5, None, None, 0.7]),
        ("narrow.csv", "score\n0.5\n\n0.7\n\n", [0.5, None, 0.7]),
        ("semicolon.csv", "a;score\n1;0.5\n2;-inf\n", [0.5, None]),
        ("tabs.tsv", "score\tb\n0.5\tx\n0.25\ty\n", [0.5, 0.25]),
        ("lines.jsonl", '{"score": 1}\n\n{"score": null}\n{"other": 2}\n', [1.0, None, None]),
        ("numbers.jsonl", "1.5\nnull\n2\n", [1.5, None, 2.0]),
        ("array.json", '[{"score": 0.5}, {"score": "nan"}, 0.75]', [0.5, None, 0.75]),
        # a byte-order mark (Excel's "CSV UTF-8", Windows line ends) is not part of a header
        ("excel.csv", "\ufeffscore,lr\r\n0.81,1\r\n0.83,2\r\n", [0.81, 0.83]),
        ("bom.jsonl", '\ufeff{"score": 0.5}\n{"score": 0.25}\n', [0.5, 0.25]),
    ],
)
def test_file_formats(tmp_path, name, text, expected):
    from tailstop._io import load_scores

    (tmp_path / name).write_text(text)
    assert load_scores(str(tmp_path / name)).scores == expected


def test_a_decimal_comma_is_named_in_the_error(tmp_path):
    from tailstop._io import load_scores
    from tailstop.errors import InvalidDataError

    (tmp_path / "comma.csv").write_text("score;lr\n0,81;1\n0,83;2\n")
    with pytest.raises(InvalidDataError, match=r"line 2: .*'0,81' \(a decimal comma\?"):
        load_scores(str(tmp_path / "comma.csv"))
    (tmp_path / "word.csv").write_text("score\nabc\n")
    with pytest.raises(InvalidDataError, match=r"not a number: 'abc'$"):
        load_scores(str(tmp_path / "word.csv"))


def test_journal_storage(tmp_path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    from tailstop._io import load_scores

    path = tmp_path / "search.log"
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="j", storage=storage, direction="minimize")
    study.add_trials([_trial(0.3), _trial(state=TrialState.FAIL), _trial(0.1)])
    loaded = load_scores(str(path))
    assert loaded.scores == [0.3, None, 0.1]
    assert loaded.direction == "minimize"


def test_grpc_storage_proxy(storage, capsys, monkeypatch):
    """``grpc://host:port``: a study read through Optuna's gRPC storage proxy, as from its
    database; a proxy that does not answer, or a malformed address, is a one-line error."""
    pytest.importorskip("grpc")
    import socket
    import subprocess
    import sys

    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("localhost", 0))
            ports.append(probe.getsockname()[1])
    serve = (
        "import optuna, sys, warnings; warnings.simplefilter('ignore');"
        "optuna.storages.run_grpc_proxy_server("
        "optuna.storages.get_storage(sys.argv[1]), host='localhost', port=int(sys.argv[2]))"
    )
    server = subprocess.Popen([sys.executable, "-c", serve, storage, str(ports[0])])
    try:
        code, out, err = _run(capsys, "analyze", f"grpc://localhost:{ports[0]}",
                              "--study", "search")
    finally:
        server.kill()
        server.wait()
    assert code == 0, err
    _, direct, _ = _run(capsys, "analyze", storage, "--study", "search")
    assert out.splitlines()[1:] == direct.splitlines()[1:]  # all but the source's name
    monkeypatch.setattr("tailstop._io_study.GRPC_WAIT", 0.5)
    code, out, err = _run(capsys, "analyze", f"grpc://localhost:{ports[1]}", "--study", "s")
    assert code == 1 and "no gRPC storage proxy answers" in err and len(err.splitlines()) == 1
    code, out, err = _run(capsys, "analyze", "grpc://localhost", "--study", "s")
    assert code == 1 and "grpc://HOST:PORT" in err
    monkeypatch.delattr(optuna.storages, "GrpcStorageProxy")  # as in optuna < 4.2
    code, out, err = _run(capsys, "analyze", f"grpc://localhost:{ports[1]}", "--study", "s")
    assert code != 0 and "new in optuna 4.2" in err and "tailstop[grpc]" in err


# -- user errors: the right exit code, one line, no traceback ---------------------------------

DATA_ERRORS = [
    (["analyze", "{files}/missing.csv"], "no such file"),
    (["analyze", "{files}/scores.csv"], "no column 'score'; its columns are 'trial', 'lr'"),
    (["analyze", "{files}/scores.jsonl", "--column", "loss"], "no key 'loss'"),
    (["analyze", "{files}/few.csv"], "at least 10"),
    (["analyze", "{files}/fifteen.csv", "--progress", "{files}/p.png"], "refits from 20 trials"),
    (["analyze", "{files}/words.csv"], "line 4: the score is not a number: 'high'"),
    (["analyze", "{files}/broken.jsonl"], "line 2: not valid JSON"),
    (["analyze", "{files}/scores.parquet"], "cannot tell the format"),
    (["analyze", "{files}/scores.csv", "--study", "search"], "not an Optuna storage"),
    (["analyze", "{files}", "--column", "x"], "cannot tell the format"),
    (["analyze", "{storage}", "--study", "nope"], "no study 'nope'"),
    (["analyze", "{storage}"], "holds 3 studies"),
    (["analyze", "{storage}", "--study", "multi"], "has 2 objectives (metric names: 'loss', "),
    (["analyze", "{storage}", "--study", "multi", "--objective", "f1"], "no objective 'f1'"),
    (["analyze", "{storage}", "--study", "multi", "--objective", "2"], "has 2 objective(s)"),
    (["analyze", "{storage}", "--study", "multi", "--objective", "-1"],
     "--objective=-1 but study 'multi' has 2 objective(s)"),
    (["analyze", "{storage}", "--study", "search", "--objective", "acc"], "no metric names"),
    (["analyze", "{files}/scores.csv", "--objective", "1"], "--objective was given but"),
    (["watch", "--storage", "{storage}", "--study", "multi"], "choose the one tailstop reads"),
    (["analyze", "{storage}", "--study", "other"], "at least 10"),
    (["analyze", "sqlite:///{files}/absent.db", "--study", "s"], "no such SQLite database"),
    (["analyze", "nosuchdialect://host/db", "--study", "s"], "cannot open the storage"),
    (["analyze", "{files}/absent.log", "--study", "s"], "no such file"),
    (["watch", "--storage", "{storage}", "--study", "nope"], "no study 'nope'"),
    (
        ["analyze", "{files}/scores.csv", "--column", "accuracy", "--bounds", "0", "0.5"],
        "outside the declared bounds",
    ),
    (
        ["replay", "{files}/scores.csv", "--column", "accuracy", "--epsilon", "0.01",
         "--bounds", "0", "0.5"],
        "outside the declared bounds",
    ),
]


@pytest.mark.parametrize(("argv", "message"), DATA_ERRORS)
def test_data_errors_exit_1(argv, message, files, storage, capsys):
    argv = [a.format(files=files, storage=storage) for a in argv]
    code, _out, err = _run(capsys, *argv)
    assert code == 1
    assert err.startswith("tailstop: error: ")
    assert message in err
    assert err.count("\n") == 1  # one line


USAGE_ERRORS = [
    ([], "required"),
    (["analyse", "x.csv"], "invalid choice"),
    (["analyze"], "required"),
    (["analyze", "{files}/scores.csv", "--direction", "up"], "invalid choice: 'up'"),
    (["analyze", "{files}/scores.csv", "--confidence", "1.5"], "must be in [0.5, 1)"),
    (["analyze", "{files}/scores.csv", "--confidence", "high"], "not a number"),
    (["analyze", "{files}/scores.csv", "--plot", "curve.xyz"], "image format"),
    (["analyze", "{files}/scores.csv", "--plot", "{files}/no-such-folder/curve.png"],
     "no such folder"),
    (["analyze", "{files}/scores.csv", "--delta", "-1"], "must be positive"),
    (["analyze", "{files}/scores.csv", "--more", "0"], "must be positive"),
    (["analyze", "{files}/scores.csv", "--more", "2.5"], "not a whole number: '2.5'"),
    (
        ["analyze", "{files}/scores.csv", "--column", "accuracy", "--bounds", "1", "0"],
        "low < high",
    ),
    (["analyze", "{storage}", "--study", "search", "--direction", "maximize"], "minimize"),
    (["replay", "{files}/scores.csv"], "--epsilon"),
    (
        ["replay", "{files}/scores.csv", "--column", "accuracy", "--epsilon", "0.01",
         "--bounds", "1", "0"],
        "low < high",
    ),
    (["watch", "--study", "search"], "give the search to watch"),
    (["watch", "{files}/scores.csv", "--storage", "{storage}"], "two sources"),
    (["demo", "--trials", "0"], "must be positive"),
]


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2(argv, message, files, storage, capsys):
    argv = [a.format(files=files, storage=storage) for a in argv]
    code, _out, err = _run(capsys, *argv)
    assert code == 2
    assert message in err


def test_missing_matplotlib_fails_before_the_fit(files, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(cli, "_analyze", lambda *a, **k: pytest.fail("fitted anyway"))
    code, _, err = _run(
        capsys, "analyze", files / "scores.csv", "--column", "accuracy", "--plot", "x.png"
    )
    assert code == 1
    assert "pip install 'tailstop[plot]'" in err


def test_bugs_keep_their_traceback(files, monkeypatch):
    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_run_analyze", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["analyze", str(files / "scores.csv")])


def test_report_formatting():
    from tailstop.estimate import analyze

    estimate = analyze(_maximized_scores(), "maximize", bounds=(0, 1.5))
    text = cli.format_report(estimate, source="test", delta=0.05)
    header, blank, *rows = text.splitlines()
    assert header.endswith("test, maximize") and blank == ""
    assert all(row.startswith("  ") for row in rows)
    # scores share one number of decimals: six significant digits of the largest
    best_row = next(r for r in rows if r.strip().startswith("current best"))
    assert f"{estimate.current_best:.5f}" in best_row
    assert f"{estimate.best_possible.low:.5f}" in text
    assert "trials to gain 0.05" in text and "delta = given" in text
    assert f"{estimate.prob_improvement(0.05, 100):.0%} chance in 100 more" in text


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_a_tail_of_every_trial_is_said_in_words(direction):
    # a small search of a high-dimensional law keeps every trial in its tail: the threshold is
    # infinite, which the reports say as "every finite score", not "above -inf"
    import numpy as np

    from tailstop.estimate import analyze

    scores = np.random.default_rng(0).normal(size=40)
    estimate = analyze(scores, direction)
    assert not np.isfinite(estimate.threshold) and estimate.tail_fraction == 1.0
    row = next(r for r in cli.format_report(estimate).splitlines()
               if r.strip().startswith("asymptotic regime"))
    assert row.endswith("trials (100%): every finite score")
    assert "100% of trials (every finite score)" in str(estimate)
    assert "inf" not in row + str(estimate)


def test_a_wait_beyond_ten_times_the_trials_so_far_is_a_bound():
    assert _report._trials(2863.2, 512) == "2,864"
    assert _report._trials(5120.0, 512) == "5,120"
    assert _report._trials(5120.5, 512) == "> 5,120"
    assert _report._trials(37268.0, 512) == "> 5,120"
    assert _report._trials(float("inf"), 512) == "never"
    assert _report._trials(37268.0) == "37,268"  # no count to compare with: the number


def test_table_alignment():
    lines = _report._table([("a", "1", "note"), ("longer label", "12,345", ""), ("b", "-0.5", "x")])
    value_ends = {
        line.index(value) + len(value)
        for line, value in zip(lines, ["1", "12,345", "-0.5"], strict=True)
    }
    assert len(value_ends) == 1
    assert lines[1] == "  longer label  12,345"


def test_json_output_is_strict():
    text = json.dumps(
        _report.json_safe({"a": [float("inf"), 1.0], "b": {"c": float("nan")}}), allow_nan=False
    )
    assert json.loads(text) == {"a": [None, 1.0], "b": {"c": None}}


def test_demo_objective_scores_an_svm():
    pytest.importorskip("sklearn")
    from tailstop import _demo

    objective = _demo.make_objective(seed=0)
    good = objective(optuna.trial.FixedTrial({"C": 10.0, "gamma": 0.01, "class_weight": None}))
    bad = objective(optuna.trial.FixedTrial({"C": 1e-3, "gamma": 10.0, "class_weight": None}))
    assert 0.9 < good <= 1.0
    assert 0.0 <= bad < good


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "demo", "--trials", "22", "--seed", "1")
    assert code == 0, err
    assert (tmp_path / "tailstop-demo.db").exists()
    assert (tmp_path / "tailstop-demo.png").read_bytes()[:4] == b"\x89PNG"
    assert "best possible" in out and "22/22" in out


def test_the_readme_report_is_the_current_output(capsys):
    """The report block in the README is what ``tailstop analyze alexnet.csv --bounds 0 1``
    prints today (numbers within 2%: the figures must not go stale)."""
    import re

    from conftest import SHARED_SCORES

    path = SHARED_SCORES / "alexnet.csv"
    if not path.exists():
        pytest.skip(f"{path} not available (the shared data sit beside the project in CI)")
    readme = (SRC.parent / "README.md").read_text()
    block = readme.split("tailstop 0.1.0.dev0: alexnet.csv (column 'score'), maximize\n", 1)[1]
    block = block.split("```", 1)[0].strip().splitlines()
    assert cli.main(["analyze", str(path), "--bounds", "0", "1"]) in (0, None)
    printed = capsys.readouterr().out.split("maximize\n", 1)[1].strip().splitlines()
    number = re.compile(r"-?\d[\d,]*\.?\d*(?:e[-+]\d+)?")
    assert len(printed) == len(block)
    # the words the same, the spaces that align the columns aside (a value printed one digit
    # shorter, e.g. 7.37e-05 for 7.369e-05 under numpy 1.24, shifts its column by one)
    for ours, theirs in zip(printed, block, strict=True):
        assert number.sub("#", ours).split() == number.sub("#", theirs).split()
        for a, b in zip(number.findall(ours), number.findall(theirs), strict=True):
            assert float(a.replace(",", "")) == pytest.approx(float(b.replace(",", "")), rel=0.02)


def test_bounds_take_negative_infinity_and_scientific_notation(tmp_path, capsys):
    """argparse reads "-inf" or "-1e9" as option names unless told they are numbers."""
    scores = np.random.default_rng(0).normal(0.8, 0.02, 60)
    path = tmp_path / "runs.csv"
    path.write_text("score\n" + "\n".join(str(v) for v in scores) + "\n")
    for low in ("-inf", "-1e9", "-Infinity", "-.5", "-2.5E+3"):
        code, out, _err = _run(capsys, "analyze", path, "--bounds", low, "1", "--json")
        assert code == 0, low
        assert json.loads(out)["n_trials"] == 60
    code, _out, err = _run(capsys, "analyze", path, "--bounds", "-inf", "--json")
    assert code != 0 and "expected 2 arguments" in err


def _one_column_csv(path, column: str, r: int, n: int):
    """A synthetic search's ``n`` scores (``r`` effective dimensions) as a one-column CSV."""
    scores = make_problem(r, noise_ratio=0.01, regime_mass=0.3, generator=3).run_search(
        n, generator=4
    )
    path.write_text(f"{column}\n" + "\n".join(f"{s:.6f}" for s in scores) + "\n")
    return scores


def test_a_one_column_csv_needs_no_column(tmp_path, capsys):
    # the file pandas writes from results.get_dataframe()[["accuracy"]] (the README's recipe)
    path = tmp_path / "runs.csv"
    scores = _one_column_csv(path, "accuracy", 2, 60)
    code, out, err = _run(capsys, "analyze", path)
    assert code == 0, err
    assert "(column 'accuracy')" in out.splitlines()[0]
    # two columns and no "score": the error names them
    path.write_text("trial,accuracy\n" + "\n".join(f"{i},{s:.6f}" for i, s in enumerate(scores)))
    code, _, err = _run(capsys, "analyze", path)
    assert code != 0 and "no column 'score'; its columns are 'trial', 'accuracy'" in err


def test_a_file_of_bare_scores_without_a_header_keeps_its_first_score(tmp_path, capsys):
    # (the first score was read as the column's name and the trial lost)
    from tailstop._io import load_scores

    path = tmp_path / "scores.csv"
    scores = _one_column_csv(path, "score", 2, 60)
    path.write_text("\n".join(f"{s:.6f}" for s in scores) + "\nnan\n")
    loaded = load_scores(str(path))
    assert loaded.scores == [*(float(f"{s:.6f}") for s in scores), None]
    code, out, err = _run(capsys, "analyze", path, "--json")
    assert code == 0, err
    assert json.loads(out)["n_trials"] == 61
    code, out, err = _run(capsys, "analyze", path)
    assert code == 0 and "no header" in out.splitlines()[0]
    # numbers in the first line of a wider file, or a column asked for: no names to read
    for text, args in (("0.5,1\n0.6,2\n", ()), ("0.5\n0.6\n", ("--column", "score"))):
        path.write_text(text)
        code, _, err = _run(capsys, "analyze", path, *args)
        assert code != 0 and "holds numbers, not column names" in err


def test_replay_shows_its_progress(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    _one_column_csv(path, "score", 1, 40)
    code, out, err = _run(capsys, "replay", path, "--epsilon", "0.05", "--orders", "3")
    assert code == 0, err
    # fixed counts of 50 and 100 trials would be the whole 40-trial search: left out
    assert "Patience(20)" in out and "fixed 50" not in out and "fixed 100" not in out
    lines = [line for line in err.splitlines() if "orders replayed" in line]
    assert [line.split(": ", 1)[1].split(" in ")[0] for line in lines] == [
        "1 of 3 orders replayed", "2 of 3 orders replayed", "3 of 3 orders replayed"
    ]
    assert "left" in lines[0] and "left" not in lines[-1]


def test_a_jsonl_file_without_the_key_lists_its_keys(tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps({"trial": i, "acc": 0.5 + i / 100}) for i in range(30)))
    code, _, err = _run(capsys, "analyze", path)
    assert code != 0 and "no key 'score' on any line; its keys are 'trial', 'acc'" in err
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    code, _, err = _run(capsys, "analyze", deep)
    assert code != 0 and "nested too deeply" in err and "Traceback" not in err


def test_a_ray_experiment_without_results_yet_is_watched_not_refused(tmp_path, capsys):
    # Tune writes its folder and state before any trial's result.json: watch polls it
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "experiment_state-2026-12-04_22-24-32.json").write_text("{}")
    (folder / "trial_00000").mkdir()  # a trial folder without its result.json yet
    code, out, err = _run(capsys, "watch", folder, "--column", "acc", "--timeout", "0.5",
                          "--interval", "0.2")
    assert code == 0, err
    assert "0 finished trials; the report needs" in out
    code, _, err = _run(capsys, "analyze", folder, "--column", "acc")
    assert code != 0 and "got 0" in err  # NotEnoughTrials, not a format error
    code, _, err = _run(capsys, "analyze", tmp_path / "nowhere")
    assert code != 0 and "no such file or folder" in err


def test_a_jsonl_line_being_written_waits_for_the_next_read(tmp_path):
    from tailstop._io import load_scores
    from tailstop.errors import InvalidDataError

    path = tmp_path / "runs.jsonl"
    lines = [json.dumps({"score": 0.5 + i / 100}) for i in range(12)]
    path.write_text("\n".join(lines) + "\n" + '{"score": 0.6')  # the last line half-written
    assert len(load_scores(str(path), growing=True).scores) == 12
    with pytest.raises(InvalidDataError, match="line 13: not valid JSON"):
        load_scores(str(path))  # a finished file: the broken line is an error
    path.write_text("\n".join(lines) + "\n" + '{"score": 0.6}')  # complete, no newline yet
    assert len(load_scores(str(path), growing=True).scores) == 13
