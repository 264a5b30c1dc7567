"""What a run shows: figures, the HTML report, PNG images, the console summary."""
