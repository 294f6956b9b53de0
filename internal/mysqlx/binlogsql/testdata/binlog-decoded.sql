/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
/*!40019 SET @@session.max_delayed_threads=0*/;
/*!50003 SET @OLD_COMPLETION_TYPE=@@COMPLETION_TYPE,COMPLETION_TYPE=0*/;
DELIMITER /*!*/;
# at 4
#261203 13:52:38 server id 1  end_log_pos 256 CRC32 0xdbae3fbb 	Start: binlog v 4, server v 10.11.19-MariaDB-0+deb12u1-log created 261203 13:52:38
BINLOG '
JnQRaw8BAAAA/AAAAAABAAAAAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAEzgNAAgAEgAEBAQEEgAA5AAEGggAAAAICAgCAAAACgoKAAAAAAAA
CgoKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAEEwQADQgICAoKCgG7P67b
'/*!*/;
# at 256
#261203 13:52:38 server id 1  end_log_pos 285 CRC32 0xa3e0d14f 	Gtid list []
# at 285
#261203 13:52:38 server id 1  end_log_pos 328 CRC32 0xdcbdfba0 	Binlog checkpoint mysql-bin.000001
# at 328
#261203 13:52:38 server id 1  end_log_pos 371 CRC32 0xc74d8197 	Binlog checkpoint mysql-bin.000002
# at 371
#261203 13:52:38 server id 1  end_log_pos 413 CRC32 0xb41964fd 	GTID 0-1-1 ddl
/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;
/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;
/*M!100001 SET @@session.server_id=1*//*!*/;
/*M!100001 SET @@session.gtid_seq_no=1*//*!*/;
# at 413
#261203 13:52:38 server id 1  end_log_pos 500 CRC32 0x04eb8575 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
SET @@session.pseudo_thread_id=5/*!*/;
SET @@session.foreign_key_checks=1, @@session.sql_auto_is_null=0, @@session.unique_checks=1, @@session.autocommit=1, @@session.check_constraint_checks=1, @@session.sql_if_exists=0, @@session.explicit_defaults_for_timestamp=1, @@session.system_versioning_insert_history=0/*!*/;
SET @@session.sql_mode=1411383296/*!*/;
SET @@session.auto_increment_increment=1, @@session.auto_increment_offset=1/*!*/;
/*!\C utf8mb3 *//*!*/;
SET @@session.character_set_client=utf8mb3,@@session.collation_connection=33,@@session.collation_server=45/*!*/;
SET @@session.lc_time_names=0/*!*/;
SET @@session.collation_database=DEFAULT/*!*/;
CREATE DATABASE shop
/*!*/;
# at 500
#261203 13:52:38 server id 1  end_log_pos 542 CRC32 0xd796cc9c 	GTID 0-1-2 ddl
/*M!100001 SET @@session.gtid_seq_no=2*//*!*/;
# at 542
#261203 13:52:38 server id 1  end_log_pos 670 CRC32 0x6308823e 	Query	thread_id=5	exec_time=0	error_code=0	xid=5
SET TIMESTAMP=1796305958/*!*/;
CREATE TABLE shop.t (id INT PRIMARY KEY, v TEXT, b BLOB)
/*!*/;
# at 670
#261203 13:52:38 server id 1  end_log_pos 712 CRC32 0xb83abb7d 	GTID 0-1-3 trans
/*M!100001 SET @@session.gtid_seq_no=3*//*!*/;
START TRANSACTION
/*!*/;
# at 712
# at 825
#261203 13:52:38 server id 1  end_log_pos 825 CRC32 0xd5583f93 	Annotate_rows:
#Q> INSERT INTO shop.t VALUES (1,'a;b /*!*/; x','\0bin'),(2,'multi
#Q> line
#Q> # not a comment',NULL)
#261203 13:52:38 server id 1  end_log_pos 873 CRC32 0x7a76e3e5 	Table_map: `shop`.`t` mapped to number 18
# at 873
#261203 13:52:38 server id 1  end_log_pos 964 CRC32 0xb5d1be02 	Write_rows: table id 18 flags: STMT_END_F

BINLOG '
JnQRaxMBAAAAMAAAAGkDAAAAABIAAAAAAAEABHNob3AAAXQAAwP8/AICAgbl43Z6
JnQRaxcBAAAAWwAAAMQDAAAAABIAAAAAAAEAAwf4AQAAAAwAYTtiIC8qISovOyB4BAAAYmlu/AIA
AAAaAG11bHRpCmxpbmUKIyBub3QgYSBjb21tZW50Ar7RtQ==
'/*!*/;
# Number of rows: 2
# at 964
#261203 13:52:38 server id 1  end_log_pos 995 CRC32 0xb86a5f76 	Xid = 6
COMMIT/*!*/;
# at 995
#261203 13:52:38 server id 1  end_log_pos 1037 CRC32 0x0a0812d9 	GTID 0-1-4 trans
/*M!100001 SET @@session.gtid_seq_no=4*//*!*/;
START TRANSACTION
/*!*/;
# at 1037
# at 1099
#261203 13:52:38 server id 1  end_log_pos 1099 CRC32 0x20a9b498 	Annotate_rows:
#Q> UPDATE shop.t SET v='héllo' WHERE id=1
#261203 13:52:38 server id 1  end_log_pos 1147 CRC32 0x3ce5166f 	Table_map: `shop`.`t` mapped to number 18
# at 1147
#261203 13:52:38 server id 1  end_log_pos 1225 CRC32 0xeb16f0c2 	Update_rows: table id 18 flags: STMT_END_F

BINLOG '
JnQRaxMBAAAAMAAAAHsEAAAAABIAAAAAAAEABHNob3AAAXQAAwP8/AICAgZvFuU8
JnQRaxgBAAAATgAAAMkEAAAAABIAAAAAAAEAAwcH+AEAAAAMAGE7YiAvKiEqLzsgeAQAAGJpbvgB
AAAABgBow6lsbG8EAABiaW7C8Bbr
'/*!*/;
# Number of rows: 1
# at 1225
#261203 13:52:38 server id 1  end_log_pos 1256 CRC32 0x468b625d 	Xid = 7
COMMIT/*!*/;
# at 1256
#261203 13:52:38 server id 1  end_log_pos 1298 CRC32 0xe683bfd7 	GTID 0-1-5 trans
/*M!100001 SET @@session.gtid_seq_no=5*//*!*/;
START TRANSACTION
/*!*/;
# at 1298
# at 1350
#261203 13:52:38 server id 1  end_log_pos 1350 CRC32 0x2e41e57d 	Annotate_rows:
#Q> DELETE FROM shop.t WHERE id=2
#261203 13:52:38 server id 1  end_log_pos 1398 CRC32 0x42c2f87a 	Table_map: `shop`.`t` mapped to number 18
# at 1398
#261203 13:52:38 server id 1  end_log_pos 1464 CRC32 0xaf872c66 	Delete_rows: table id 18 flags: STMT_END_F

BINLOG '
JnQRaxMBAAAAMAAAAHYFAAAAABIAAAAAAAEABHNob3AAAXQAAwP8/AICAgZ6+MJC
JnQRaxkBAAAAQgAAALgFAAAAABIAAAAAAAEAAwf8AgAAABoAbXVsdGkKbGluZQojIG5vdCBhIGNv
bW1lbnRmLIev
'/*!*/;
# Number of rows: 1
# at 1464
# at 1538
#261203 13:52:38 server id 1  end_log_pos 1538 CRC32 0xfc307a7e 	Annotate_rows:
#Q> INSERT INTO shop.t VALUES (3,REPEAT('z',5000),NULL)
#261203 13:52:38 server id 1  end_log_pos 1586 CRC32 0x32e446e4 	Table_map: `shop`.`t` mapped to number 18
# at 1586
#261203 13:52:38 server id 1  end_log_pos 6626 CRC32 0x3c4a424d 	Write_rows: table id 18 flags: STMT_END_F

BINLOG '
JnQRaxMBAAAAMAAAADIGAAAAABIAAAAAAAEABHNob3AAAXQAAwP8/AICAgbkRuQy
JnQRaxcBAAAAsBMAAOIZAAAAABIAAAAAAAEAAwf8AwAAAIgTenp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6
enp6enp6enp6enp6enp6enp6enpNQko8
'/*!*/;
# Number of rows: 1
# at 6626
#261203 13:52:38 server id 1  end_log_pos 6657 CRC32 0xbc18458e 	Xid = 9
COMMIT/*!*/;
# at 6657
#261203 13:52:38 server id 1  end_log_pos 6699 CRC32 0x259731ba 	GTID 0-1-6 ddl
/*M!100001 SET @@session.gtid_seq_no=6*//*!*/;
# at 6699
#261203 13:52:38 server id 1  end_log_pos 6813 CRC32 0xa2498297 	Query	thread_id=5	exec_time=0	error_code=0	xid=12
SET TIMESTAMP=1796305958/*!*/;
CREATE TABLE shop.m (id INT) ENGINE=MyISAM
/*!*/;
# at 6813
#261203 13:52:38 server id 1  end_log_pos 6855 CRC32 0xea20be10 	GTID 0-1-7
/*M!100001 SET @@session.gtid_seq_no=7*//*!*/;
START TRANSACTION
/*!*/;
# at 6855
# at 6907
#261203 13:52:38 server id 1  end_log_pos 6907 CRC32 0x03147875 	Annotate_rows:
#Q> INSERT INTO shop.m VALUES (1)
#261203 13:52:38 server id 1  end_log_pos 6951 CRC32 0xcc8ff58d 	Table_map: `shop`.`m` mapped to number 22
# at 6951
#261203 13:52:38 server id 1  end_log_pos 6989 CRC32 0x4af059ff 	Write_rows: table id 22 flags: STMT_END_F

BINLOG '
JnQRaxMBAAAALAAAACcbAAAAABYAAAAAAAEABHNob3AAAW0AAQMAAY31j8w=
JnQRaxcBAAAAJgAAAE0bAAAAABYAAAAAAAEAAQH+AQAAAP9Z8Eo=
'/*!*/;
# Number of rows: 1
# at 6989
#261203 13:52:38 server id 1  end_log_pos 7058 CRC32 0x467b6cd0 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
COMMIT
/*!*/;
# at 7058
#261203 13:52:38 server id 1  end_log_pos 7100 CRC32 0x62689a56 	GTID 0-1-8
/*M!100001 SET @@session.gtid_seq_no=8*//*!*/;
START TRANSACTION
/*!*/;
# at 7100
#261203 13:52:38 server id 1  end_log_pos 7192 CRC32 0xcba64b93 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
INSERT INTO shop.m VALUES (2)
/*!*/;
# at 7192
#261203 13:52:38 server id 1  end_log_pos 7261 CRC32 0x428e26df 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
COMMIT
/*!*/;
# at 7261
#261203 13:52:38 server id 1  end_log_pos 7303 CRC32 0x8102453c 	GTID 0-1-9 trans
/*M!100001 SET @@session.gtid_seq_no=9*//*!*/;
START TRANSACTION
/*!*/;
# at 7303
#261203 13:52:38 server id 1  end_log_pos 7429 CRC32 0xb833c379 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
INSERT INTO shop.t VALUES (4,'stmt
# inside a string
end',NULL)
/*!*/;
# at 7429
#261203 13:52:38 server id 1  end_log_pos 7460 CRC32 0xeb587f63 	Xid = 16
COMMIT/*!*/;
# at 7460
#261203 13:52:38 server id 1  end_log_pos 7502 CRC32 0xa173197a 	GTID 0-1-10 ddl
/*M!100001 SET @@session.gtid_seq_no=10*//*!*/;
# at 7502
#261203 13:52:38 server id 1  end_log_pos 7607 CRC32 0x61861b60 	Query	thread_id=5	exec_time=0	error_code=0	xid=0
SET TIMESTAMP=1796305958/*!*/;
CREATE USER 'u'@'%' IDENTIFIED BY 'sekret'
/*!*/;
# at 7607
#261203 13:52:38 server id 1  end_log_pos 7649 CRC32 0x89ce8952 	GTID 0-1-11 ddl
/*M!100001 SET @@session.gtid_seq_no=11*//*!*/;
# at 7649
#261203 13:52:38 server id 1  end_log_pos 7845 CRC32 0x0b3e42c4 	Query	thread_id=5	exec_time=0	error_code=0	xid=18
SET TIMESTAMP=1796305958/*!*/;
CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `shop`.`vv` AS SELECT 1 AS x
/*!*/;
# at 7845
#261203 13:52:38 server id 1  end_log_pos 7892 CRC32 0xfb6bb34b 	Rotate to mysql-bin.000003  pos: 4
DELIMITER ;
# End of log file
ROLLBACK /* added by mysqlbinlog */;
/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;
