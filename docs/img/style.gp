# Terminal and colours shared by the charts; expects fmt, out, width,
# height. noenhanced: workload names contain underscores.
if (fmt eq "png") {
	set terminal pngcairo size width, height noenhanced font "sans,10"
} else {
	set terminal svg size width, height noenhanced font "sans,11" background "white"
}
set output out . "." . fmt
# One colour per structure, the same in every chart (Okabe-Ito).
set linetype 1 lc rgb "#0072B2" lw 2 pt 7 ps 0.8
set linetype 2 lc rgb "#56B4E9" lw 2 pt 5 ps 0.8
set linetype 3 lc rgb "#D55E00" lw 2 pt 9 ps 0.8
set linetype 4 lc rgb "#009E73" lw 2 pt 11 ps 0.8
set linetype 5 lc rgb "#E69F00" lw 2 pt 13 ps 0.8
set linetype 6 lc rgb "#CC79A7" lw 2 pt 7 ps 0.8
set linetype 7 lc rgb "#000000" lw 2 pt 5 ps 0.8
set linetype 8 lc rgb "#F0E442" lw 2 pt 9 ps 0.8
set grid ytics lc rgb "#dddddd" lt 1 lw 1
set border 3
set tics nomirror
