# Written by mapletree-bench --plot. Run from this directory:
#   gnuplot ns_gapped.gp   (-e 'fmt="png"' for PNG)
reset
if (!exists("fmt")) { fmt = "svg" }
out = "ns_gapped"
width = 1000
height = 520
load "style.gp"
set title "ns per operation, gapped layout, n = 1000000 (median of the runs; error bars: min..max; log scale)"
set ylabel "ns/op"
set logscale y
set yrange [5:*]
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -20 scale 0
set key top left horizontal
set grid noxtics
plot \
     "ns_gapped.dat" using 2:3:4:xtic(1) title "maple-rcu" lt 1, \
     "ns_gapped.dat" using 5:6:7 title "maple" lt 2, \
     "ns_gapped.dat" using 8:9:10 title "rbtree" lt 3, \
     "ns_gapped.dat" using 11:12:13 title "judyl" lt 4, \
     "ns_gapped.dat" using 14:15:16 title "sortedarray" lt 5
unset output
