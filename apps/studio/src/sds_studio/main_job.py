"""The main job through the public API: upload → profile → DP training → sampling → evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sds_studio.client import StudioClient, StudioError

#: (score key, label, whether the evaluator publishes the independent-columns baseline's value).
HEADLINES = (
    ("validity", "validity (worst column; 1 = only values a real column could hold)", False),
    ("fidelity", "fidelity (0 to 1, higher is better)", True),
    ("column_shapes", "column shapes", True),
    ("column_pairs", "column pair trends", True),
    ("utility_tstr_auc", "ML utility: train synthetic, test real (ROC-AUC)", True),
    ("utility_tstr_r2", "ML utility: train synthetic, test real (R²)", True),
    ("utility_trtr_auc", "ML utility: train real, test real (ROC-AUC; the ceiling)", False),
    ("utility_trtr_r2", "ML utility: train real, test real (R²; the ceiling)", False),
    ("dcr_share", "rows closer to training than to holdout (≈0.5 is ideal)", False),
    ("mia_auc", "membership-inference attack AUC (≈0.5 is ideal)", False),
    ("mia_epsilon_lower_bound", "empirical ε lower bound from the attack", False),
    ("exact_copies", "synthetic rows identical to a training row", False),
)
#: What to try next, on one's own data, with ``make up-embedded`` running (printed at the end).
NEXT_STEPS = (
    ("sds upload YOUR_TABLE.csv --target COLUMN", "upload and profile it (prints its id)"),
    ("sds train DATASET_ID --epsilon 1", "train the recommended method (auto) at ε = 1"),
    ("sds sample GENERATOR_ID", "sample as many rows as the table (evaluated automatically)"),
    ("sds download SYNTHETIC_ID --out synthetic.csv", "the rows, written as your file was"),
)


@dataclass(frozen=True)
class MainJobOptions:
    """What the main job runs on."""

    data: Path
    target: str | None
    epsilon: float
    epochs: int | None
    out: Path
    method: str = "auto"


class MainJob:
    """Drives one table through the whole pipeline, printing progress and results."""

    def __init__(self, client: StudioClient, *, console: Console, options: MainJobOptions) -> None:
        self.client = client
        self.console = console
        self.options = options

    async def run(self) -> bool:
        """Run it; returns whether every step succeeded."""
        started = time.monotonic()
        try:
            result = await self._run()
        except StudioError as exc:
            self.console.print(f"[red]failed[/]: {exc.detail} ({exc.code})")
            return False
        if result is None:
            return False
        self._summary(result, seconds=time.monotonic() - started)
        return True

    async def _run(self) -> dict[str, Any] | None:
        opts = self.options
        self.console.print(f"[bold]Synthetic Data Studio[/] — main job on [cyan]{opts.data}[/]")
        project = await self.client.create_project("demo")
        dataset = await self.client.upload(opts.data, project_id=project["id"], target=opts.target)
        with self.console.status("validating and profiling the table..."):
            dataset = await self.client.wait(f"/datasets/{dataset['id']}")
        if dataset["status"] != "ready":
            self.console.print(f"[red]dataset rejected[/]: {dataset.get('error')}")
            return None
        self.console.print(
            f"profiled: {dataset['n_rows']} rows, {dataset['n_columns']} columns; "
            f"{dataset.get('train_rows')} for training, the rest held out for evaluation"
        )
        params = {"epochs": opts.epochs} if opts.epochs else {}
        generator = await self.client.train(
            dataset["id"], method=opts.method, epsilon=opts.epsilon, params=params
        )
        generator = await self._follow_training(generator)
        if generator["status"] != "succeeded":
            self.console.print(f"[red]training {generator['status']}[/]: {generator.get('error')}")
            return None
        fit = await self.client.call("GET", f"/generators/{generator['id']}/fit-report")
        self._choice(fit)
        synthetic = await self.client.sample(generator["id"], rows=dataset["n_rows"], seed=0)
        with self.console.status(f"sampling {dataset['n_rows']} rows..."):
            synthetic = await self.client.wait(f"/synthetic-datasets/{synthetic['id']}")
        if synthetic["status"] != "succeeded":
            self.console.print(f"[red]sampling failed[/]: {synthetic.get('error')}")
            return None
        evaluation_path = f"/evaluations/{synthetic['evaluation_id']}"
        with self.console.status("evaluating fidelity, utility and privacy risk..."):
            evaluation = await self.client.wait(evaluation_path)
        if evaluation["status"] != "succeeded":
            self.console.print(f"[red]evaluation failed[/]: {evaluation.get('error')}")
            return None
        opts.out.mkdir(parents=True, exist_ok=True)
        csv = await self.client.download(
            f"/synthetic-datasets/{synthetic['id']}/download?format=csv", opts.out / "synthetic.csv"
        )
        report = await self.client.download(f"{evaluation_path}/report", opts.out / "report.html")
        return {
            "dataset": dataset,
            "generator": generator,
            "synthetic": synthetic,
            "evaluation": evaluation,
            "files": {"csv": csv, "report": report},
        }

    async def _follow_training(self, generator: dict[str, Any]) -> dict[str, Any]:
        columns = (
            TextColumn(f"[bold]training {self.options.method}"),
            BarColumn(),
            TextColumn("step {task.completed:.0f}/{task.fields[epochs]}"),
            TextColumn("ε spent {task.fields[eps]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console) as progress:
            task = progress.add_task("train", total=None, eps="-", epochs="?")

            def update(event: dict[str, Any]) -> None:
                data = event.get("data") or {}
                if event.get("event") == "TrainingProgress":
                    eps = data.get("epsilon_spent")
                    progress.update(
                        task,
                        completed=data.get("epoch", 0),
                        total=data.get("total_epochs"),
                        epochs=data.get("total_epochs", "?"),
                        eps=f"{eps:.3f}" if isinstance(eps, float) else "-",
                    )

            return await self.client.wait(f"/generators/{generator['id']}", on_update=update)

    def _choice(self, fit: dict[str, Any]) -> None:
        """What ``auto`` picked and why, and what the fit says about the columns."""
        choice = fit.get("choice")
        if isinstance(choice, dict):
            self.console.print(f"[bold]auto[/] picked [cyan]{choice.get('method')}[/]:")
            for reason in choice.get("reasons") or ():
                self.console.print(f"  - {reason}")
        for column in fit.get("columns") or ():
            note = column.get("warning") or column.get("note")
            if note and (column.get("other_rows") or column.get("warning")):
                self.console.print(f"  [yellow]{column.get('column')}[/]: {note}")

    def _summary(self, result: dict[str, Any], *, seconds: float) -> None:
        generator = result["generator"]
        scores = result["evaluation"].get("scores") or {}
        table = Table(title="Evaluation (synthetic vs real holdout)")
        table.add_column("metric")
        table.add_column("synthetic", justify="right")
        table.add_column("independent columns", justify="right")
        for key, label, has_baseline in HEADLINES:
            value = scores.get(key)
            if not isinstance(value, int | float):
                continue
            baseline = scores.get(f"baseline_{key}") if has_baseline else None
            table.add_row(
                label,
                f"{value:.3f}",
                f"{baseline:.3f}" if isinstance(baseline, int | float) else "",
            )
        self.console.print(table)
        self.console.print(
            "independent columns: every column sampled on its own from the real rows (not "
            "private): what the model adds is the difference."
        )
        eps, delta = generator.get("epsilon"), generator.get("delta")
        self.console.print(
            f"[bold green]differential privacy[/]: ε = {eps:.3f}, δ = {delta:.2e} spent "
            f"(target ε = {self.options.epsilon:g}; covers preprocessing and training)"
            if isinstance(eps, float) and isinstance(delta, float)
            else "[yellow]no DP guarantee reported[/]"
        )
        files = result["files"]
        self.console.print(f"synthetic data: [cyan]{files['csv']}[/]")
        self.console.print(f"report:         [cyan]{files['report']}[/]")
        self.console.print(f"done in {seconds:.0f} s; results in [cyan]{self.options.out}[/]")
        self.console.print(
            "\n[bold]Next, on your own data[/] (start the studio first: [cyan]make up-embedded[/]; "
            "[cyan]sds schema DATASET_ID[/] shows what you could declare public):"
        )
        for command, what in NEXT_STEPS:
            self.console.print(f"  [cyan]{command}[/]\n      {what}")
