# Written by mapletree-bench --plot. Run from this directory:
#   gnuplot scaling_gapped.gp   (-e 'fmt="png"' for PNG)
reset
if (!exists("fmt")) { fmt = "svg" }
out = "scaling_gapped"
width = 1000
height = 720
load "style.gp"
set logscale x
set xrange [10000 * 0.7:1000000 * 1.4]
set xtics ("10000" 10000, "100000" 100000, "1000000" 1000000)
set yrange [0:*]
# Headroom above the data for the key.
set offsets 0, 0, graph 0.35, 0
set xlabel "n (ranges in the structure)"
set ylabel "ns/op"
set key top left
set multiplot layout 2,2 title "ns per operation against n, gapped layout (median; error bars: min..max)"
set title "load_hit"
plot \
     "scaling_gapped.dat" index 0 using 1:2:3:4 with yerrorlines title "maple-rcu" lt 1, \
     "scaling_gapped.dat" index 0 using 1:5:6:7 with yerrorlines title "maple" lt 2, \
     "scaling_gapped.dat" index 0 using 1:8:9:10 with yerrorlines title "rbtree" lt 3, \
     "scaling_gapped.dat" index 0 using 1:11:12:13 with yerrorlines title "judyl" lt 4, \
     "scaling_gapped.dat" index 0 using 1:14:15:16 with yerrorlines title "sortedarray" lt 5
set title "rand_store"
plot \
     "scaling_gapped.dat" index 1 using 1:2:3:4 with yerrorlines title "maple-rcu" lt 1, \
     "scaling_gapped.dat" index 1 using 1:5:6:7 with yerrorlines title "maple" lt 2, \
     "scaling_gapped.dat" index 1 using 1:8:9:10 with yerrorlines title "rbtree" lt 3, \
     "scaling_gapped.dat" index 1 using 1:11:12:13 with yerrorlines title "judyl" lt 4
set title "rand_erase"
plot \
     "scaling_gapped.dat" index 2 using 1:2:3:4 with yerrorlines title "maple-rcu" lt 1, \
     "scaling_gapped.dat" index 2 using 1:5:6:7 with yerrorlines title "maple" lt 2, \
     "scaling_gapped.dat" index 2 using 1:8:9:10 with yerrorlines title "rbtree" lt 3, \
     "scaling_gapped.dat" index 2 using 1:11:12:13 with yerrorlines title "judyl" lt 4
set title "seq_insert"
plot \
     "scaling_gapped.dat" index 3 using 1:2:3:4 with yerrorlines title "maple-rcu" lt 1, \
     "scaling_gapped.dat" index 3 using 1:5:6:7 with yerrorlines title "maple" lt 2, \
     "scaling_gapped.dat" index 3 using 1:8:9:10 with yerrorlines title "rbtree" lt 3, \
     "scaling_gapped.dat" index 3 using 1:11:12:13 with yerrorlines title "judyl" lt 4
unset multiplot
unset output
