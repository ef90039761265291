"""ML signals through the official MCP Python SDK, on the bundled data: train_model with only a
symbol and a horizon keeps a model and says plainly whether it beats the baselines; predict
scores the latest bars; model("id") in a strategy backtests and optimises on walk-forward
predictions, and every optimisation says how likely it is overfit."""

import sqlite3

import pytest

from conftest import error_text, job_result, ok, session

pytestmark = pytest.mark.anyio


async def test_train_predict_backtest_and_optimise_an_ml_signal(data_dir):
    async with session(data_dir) as s:
        tools = {t.name for t in (await s.list_tools()).tools}
        assert {"train_model", "predict"} <= tools

        out = ok(await s.call_tool("train_model", {"symbol": "GOOG", "horizon": 5}))
        model_id = out["model_id"]
        assert model_id.startswith("mdl_") and out["job_id"] is None
        assert out["label"] == "forward_sign" and out["horizon"] == 5
        assert "ret_1" in out["features"] and "day_of_week" in out["features"]
        assert len(out["feature_hash"]) == 16
        ev = out["evaluation"]
        for who in ("model", "always_up", "logistic"):
            assert set(ev[who]) >= {"accuracy", "auc", "log_loss", "information_coefficient"}
        assert ev["always_up"]["auc"] == 0.5
        assert 0 <= ev["p_value"] <= 1 and ev["out_of_sample_rows"] > 1000
        assert ev["verdict"], ev
        shares = [share for _, share in ev["importances"]]
        assert abs(sum(shares) - 1) < 1e-6 and shares == sorted(shares, reverse=True)
        assert out["training"]["rows"] == ev["rows"]

        # The store keeps it with its training range and feature hash.
        db = sqlite3.connect(data_dir / "quantdesk.db")
        row = db.execute(
            "SELECT symbol, horizon, feature_hash, train_start, train_end FROM models WHERE id = ?",
            (model_id,),
        ).fetchone()
        db.close()
        assert row[:3] == ("GOOG", 5, out["feature_hash"]), row
        assert row[3].startswith(out["training"]["start"][:10]) and row[4].startswith(out["training"]["end"][:10])

        pred = ok(await s.call_tool("predict", {"model_id": model_id}))
        assert pred["symbol"] == "GOOG" and len(pred["predictions"]) == 5
        assert all(0 < p["up_probability"] < 1 for p in pred["predictions"])
        times = [p["time"] for p in pred["predictions"]]
        assert times == sorted(times)
        # The newest bars have no label yet, so they were not trained on.
        assert pred["predictions"][-1]["in_training"] is False
        assert "5 bar(s)" in pred["meaning"] and pred["verdict"] == ev["verdict"]
        other = ok(await s.call_tool("predict", {"model_id": model_id, "symbol": "SPX", "bars": 3}))
        assert other["symbol"] == "SPX" and len(other["predictions"]) == 3

        # A strategy on the model's up-probability, walk-forward so out of sample.
        strategy = {
            "params": {"enter": {"default": 0.55, "min": 0.5, "max": 0.7, "step": 0.01}},
            "long": {"entry": f"model('{model_id}') > $enter", "exit": f"model('{model_id}') < 0.5"},
        }
        bt = ok(await s.call_tool("run_backtest", {"strategy": strategy, "symbol": "GOOG"}))
        assert bt["stats"]["trades"] > 0, bt["stats"]
        # Predictions start only once a walk-forward window has enough history behind it.
        assert bt["first_trading_time"] > "2005", bt["first_trading_time"]

        opt = ok(
            await s.call_tool(
                "optimize_parameters",
                {"strategy": strategy, "symbol": "GOOG", "method": "bayesian", "samples": 12},
            )
        )
        assert opt["method"] == "bayesian" and 0 < opt["evaluations"] <= 12
        over = opt["overfitting"]
        assert over["trials"] == opt["evaluations"] and over["deflated_sharpe"] is not None, over
        assert over["pbo"] is not None and over["verdict"], over

        analysis = ok(await s.call_tool("analyze_strategy", {"strategy": strategy, "symbol": "GOOG"}))
        assert "robustness" in analysis

        # Errors say what to do.
        text = error_text(await s.call_tool("predict", {"model_id": "mdl_0000000000000000"}))
        assert "there is no model" in text and "train_model" in text
        bad = {"long": {"entry": "model('mdl_nope') > 0.6"}}
        text = error_text(await s.call_tool("run_backtest", {"strategy": bad, "symbol": "GOOG"}))
        assert "there is no model 'mdl_nope'" in text, text
        text = error_text(
            await s.call_tool("screen_stocks", {"filters": [f"model('{model_id}') > 0.5"], "universe": ["GOOG"]})
        )
        assert "strategies only" in text and "predict" in text, text
        text = error_text(await s.call_tool("train_model", {"symbol": "GOOG", "horizon": 5, "features": ["rsii(14)"]}))
        assert "did you mean 'rsi'" in text, text
        text = error_text(await s.call_tool("train_model", {"symbol": "GOOG", "horizon": 5, "label": "up"}))
        assert "forward_sign or triple_barrier" in text, text


async def test_a_background_training_is_a_job_and_extra_features_add_to_the_defaults(data_dir):
    async with session(data_dir) as s:
        started = ok(
            await s.call_tool(
                "train_model",
                {
                    "symbol": "SPX",
                    "horizon": 10,
                    "features": ["defaults", "adx(14)", "sma(20) / sma(50)"],
                    "label": "triple_barrier",
                    "start": "2012-01-01",
                    "background": True,
                },
            )
        )
        job = started["job_id"]
        assert job and started["model_id"] is None
        status = await job_result(s, job)
        assert status["status"] == "done", status
        result = status["result"]
        assert result["model_id"].startswith("mdl_") and result["label"] == "triple_barrier"
        assert result["features"][-2:] == ["adx(14)", "sma(20) / sma(50)"] and len(result["features"]) == 11
        assert result["training"]["start"] >= "2012-01-01"
        pred = ok(await s.call_tool("predict", {"model_id": result["model_id"], "bars": 2}))
        assert len(pred["predictions"]) == 2


async def test_an_ml_signal_on_live_crypto_minutes(data_dir):
    """Live data: BTC/USD minute bars from Coinbase's public API (the stand-in's three days)."""
    async with session(data_dir) as s:
        out = ok(
            await s.call_tool(
                "train_model",
                {"symbol": "BTC/USD", "horizon": 5, "timeframe": "1Min", "start": "2026-12-01"},
            )
        )
        assert out["source"] == "coinbase" and out["timeframe"] == "1Min", out
        assert out["training"]["rows"] > 3000 and out["evaluation"]["verdict"]
        pred = ok(await s.call_tool("predict", {"model_id": out["model_id"], "bars": 3}))
        assert pred["source"] == "coinbase" and len(pred["predictions"]) == 3
        strategy = {"long": {"entry": f"model('{out['model_id']}') > 0.55", "exit": f"model('{out['model_id']}') < 0.5"}}
        bt = ok(
            await s.call_tool(
                "run_backtest",
                {"strategy": strategy, "symbol": "BTC/USD", "timeframe": "1Min", "start": "2026-12-01"},
            )
        )
        assert bt["bars"] > 4000 and bt["source"] == "coinbase", bt["bars"]
