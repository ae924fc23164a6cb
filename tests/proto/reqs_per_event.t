!flags -R 2
# -R 2: a connection yields after 2 commands per wake-up
# (docs/COMPAT.md#fairness-and-back-pressure);
# clients see no difference: a long pipeline is answered fully, in order.
> set rpe_0 0 0 2
> v0
> get rpe_0 rpe_nope
> incr rpe_0 1
> bogus
> delete rpe_0
> delete rpe_0
> set rpe_0 0 0 1 noreply
> n
> touch rpe_0 0
> version
> set rpe_1 1 0 2
> v1
> get rpe_1 rpe_nope
> set rpe_2 2 0 2
> v2
> get rpe_2 rpe_nope
> set rpe_3 3 0 2
> v3
> get rpe_3 rpe_nope
> set rpe_4 4 0 2
> v4
> get rpe_4 rpe_nope
> set rpe_5 5 0 2
> v5
> get rpe_5 rpe_nope
> incr rpe_5 1
> bogus
> delete rpe_5
> delete rpe_5
> set rpe_5 0 0 1 noreply
> n
> touch rpe_5 0
> version
> set rpe_6 6 0 2
> v6
> get rpe_6 rpe_nope
> set rpe_7 7 0 2
> v7
> get rpe_7 rpe_nope
> set rpe_8 8 0 2
> v8
> get rpe_8 rpe_nope
> set rpe_9 9 0 2
> v9
> get rpe_9 rpe_nope
> set rpe_10 10 0 3
> v10
> get rpe_10 rpe_nope
> incr rpe_10 1
> bogus
> delete rpe_10
> delete rpe_10
> set rpe_10 0 0 1 noreply
> n
> touch rpe_10 0
> version
> set rpe_11 11 0 3
> v11
> get rpe_11 rpe_nope
> set rpe_12 12 0 3
> v12
> get rpe_12 rpe_nope
> set rpe_13 13 0 3
> v13
> get rpe_13 rpe_nope
> set rpe_14 14 0 3
> v14
> get rpe_14 rpe_nope
> set rpe_15 15 0 3
> v15
> get rpe_15 rpe_nope
> incr rpe_15 1
> bogus
> delete rpe_15
> delete rpe_15
> set rpe_15 0 0 1 noreply
> n
> touch rpe_15 0
> version
> set rpe_16 16 0 3
> v16
> get rpe_16 rpe_nope
> set rpe_17 17 0 3
> v17
> get rpe_17 rpe_nope
> set rpe_18 18 0 3
> v18
> get rpe_18 rpe_nope
> set rpe_19 19 0 3
> v19
> get rpe_19 rpe_nope
> set rpe_20 20 0 3
> v20
> get rpe_20 rpe_nope
> incr rpe_20 1
> bogus
> delete rpe_20
> delete rpe_20
> set rpe_20 0 0 1 noreply
> n
> touch rpe_20 0
> version
> set rpe_21 21 0 3
> v21
> get rpe_21 rpe_nope
> set rpe_22 22 0 3
> v22
> get rpe_22 rpe_nope
> set rpe_23 23 0 3
> v23
> get rpe_23 rpe_nope
> set rpe_24 24 0 3
> v24
> get rpe_24 rpe_nope
> set rpe_25 25 0 3
> v25
> get rpe_25 rpe_nope
> incr rpe_25 1
> bogus
> delete rpe_25
> delete rpe_25
> set rpe_25 0 0 1 noreply
> n
> touch rpe_25 0
> version
> set rpe_26 26 0 3
> v26
> get rpe_26 rpe_nope
> set rpe_27 27 0 3
> v27
> get rpe_27 rpe_nope
> set rpe_28 28 0 3
> v28
> get rpe_28 rpe_nope
> set rpe_29 29 0 3
> v29
> get rpe_29 rpe_nope
> set rpe_30 30 0 3
> v30
> get rpe_30 rpe_nope
> incr rpe_30 1
> bogus
> delete rpe_30
> delete rpe_30
> set rpe_30 0 0 1 noreply
> n
> touch rpe_30 0
> version
> set rpe_31 31 0 3
> v31
> get rpe_31 rpe_nope
> set rpe_32 32 0 3
> v32
> get rpe_32 rpe_nope
> set rpe_33 33 0 3
> v33
> get rpe_33 rpe_nope
> set rpe_34 34 0 3
> v34
> get rpe_34 rpe_nope
> set rpe_35 35 0 3
> v35
> get rpe_35 rpe_nope
> incr rpe_35 1
> bogus
> delete rpe_35
> delete rpe_35
> set rpe_35 0 0 1 noreply
> n
> touch rpe_35 0
> version
> set rpe_36 36 0 3
> v36
> get rpe_36 rpe_nope
> set rpe_37 37 0 3
> v37
> get rpe_37 rpe_nope
> set rpe_38 38 0 3
> v38
> get rpe_38 rpe_nope
> set rpe_39 39 0 3
> v39
> get rpe_39 rpe_nope
< STORED
< VALUE rpe_0 0 2
< v0
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_1 1 2
< v1
< END
< STORED
< VALUE rpe_2 2 2
< v2
< END
< STORED
< VALUE rpe_3 3 2
< v3
< END
< STORED
< VALUE rpe_4 4 2
< v4
< END
< STORED
< VALUE rpe_5 5 2
< v5
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_6 6 2
< v6
< END
< STORED
< VALUE rpe_7 7 2
< v7
< END
< STORED
< VALUE rpe_8 8 2
< v8
< END
< STORED
< VALUE rpe_9 9 2
< v9
< END
< STORED
< VALUE rpe_10 10 3
< v10
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_11 11 3
< v11
< END
< STORED
< VALUE rpe_12 12 3
< v12
< END
< STORED
< VALUE rpe_13 13 3
< v13
< END
< STORED
< VALUE rpe_14 14 3
< v14
< END
< STORED
< VALUE rpe_15 15 3
< v15
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_16 16 3
< v16
< END
< STORED
< VALUE rpe_17 17 3
< v17
< END
< STORED
< VALUE rpe_18 18 3
< v18
< END
< STORED
< VALUE rpe_19 19 3
< v19
< END
< STORED
< VALUE rpe_20 20 3
< v20
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_21 21 3
< v21
< END
< STORED
< VALUE rpe_22 22 3
< v22
< END
< STORED
< VALUE rpe_23 23 3
< v23
< END
< STORED
< VALUE rpe_24 24 3
< v24
< END
< STORED
< VALUE rpe_25 25 3
< v25
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_26 26 3
< v26
< END
< STORED
< VALUE rpe_27 27 3
< v27
< END
< STORED
< VALUE rpe_28 28 3
< v28
< END
< STORED
< VALUE rpe_29 29 3
< v29
< END
< STORED
< VALUE rpe_30 30 3
< v30
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_31 31 3
< v31
< END
< STORED
< VALUE rpe_32 32 3
< v32
< END
< STORED
< VALUE rpe_33 33 3
< v33
< END
< STORED
< VALUE rpe_34 34 3
< v34
< END
< STORED
< VALUE rpe_35 35 3
< v35
< END
< CLIENT_ERROR cannot increment or decrement non-numeric value
< ERROR
< DELETED
< NOT_FOUND
< TOUCHED
< VERSION 1.6.18
< STORED
< VALUE rpe_36 36 3
< v36
< END
< STORED
< VALUE rpe_37 37 3
< v37
< END
< STORED
< VALUE rpe_38 38 3
< v38
< END
< STORED
< VALUE rpe_39 39 3
< v39
< END
