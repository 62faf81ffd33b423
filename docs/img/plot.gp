# Renders every chart: cd to this directory, then gnuplot plot.gp
charts = "ns_gapped ns_adjacent scaling_gapped scaling_adjacent readers"
png = strstrt(" " . GPVAL_TERMINALS . " ", " pngcairo ") > 0
if (!png) {
	print "plot: this gnuplot has no pngcairo terminal; PNG charts skipped"
}
do for [c in charts] {
	fmt = "svg"
	load c . ".gp"
	if (png) {
		fmt = "png"
		load c . ".gp"
	}
}
